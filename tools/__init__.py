"""Tools run from the repository root: ``python -m tools.make_demo_data`` (the demo root), ``tools.make_paper_root``
(a root of the published sizes), ``tools.seed_root`` (a root's copy for another seed), ``tools.demo_family`` (make
demo-family); ``tools.chinese_variants``, Chinese as people type it, for the tests and a benchmark."""
