"""The benchmarks (bench/README.md), run from the repository root: python -m bench.bench_pipeline …"""
