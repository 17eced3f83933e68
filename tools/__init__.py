"""Tools run from the repository root: python -m tools.make_demo_data (the demo root), tools.chinese_variants."""
