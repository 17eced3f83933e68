# make demo: venv + demo data + the whole pipeline for two paper configs (small profile)
# make demo-family: W2VV, enhanced W2VV, W2VV++ and SEA on the demo root, 3 seeds each, and their table (mean ± sd)
# make demo-ja: the Japanese demo (Japanese -> English sentences -> images), with the optional requirements-ja.txt
# make test: venv + the test suite (what CI runs), on 2 workers; make test-fast: the quick subset (no training)
# make lint: ruff (settings in pyproject.toml)
#   then the backend tests on JAX and PyTorch where make venv-jax / make venv-torch made their venvs
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ROOT := demo_root

.PHONY: demo demo-family demo-ja test test-fast lint venv venv-ja venv-jax venv-torch clean-demo bench bench-gpu gpu-wheels

$(VENV)/.installed: requirements.txt requirements-base.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Another Keras backend, without TensorFlow: .venv-jax or .venv-torch (KERAS_BACKEND=jax|torch uses it)
$(VENV)-%/.installed: requirements-%.txt requirements-base.txt
	$(PYTHON) -m venv $(VENV)-$*
	$(VENV)-$*/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-$*/bin/python -m pip install --quiet -r requirements-$*.txt
	touch $@

venv-jax: $(VENV)-jax/.installed
venv-torch: $(VENV)-torch/.installed

$(VENV)/.installed-ja: requirements-ja.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-ja.txt
	touch $@

venv-ja: $(VENV)/.installed-ja

demo: venv
	$(PY) -m tools.make_demo_data $(DEMO_ROOT)
	./do_all.sh --ini demo.ini base_w2vv
	./do_all.sh --ini demo.ini w2vv_attention_ctl
	@echo; echo "== demo results (mIR on cococntest; also in $(DEMO_ROOT)/results/) =="
	@$(PY) report.py --rootpath $(DEMO_ROOT) --run $(foreach c,base_w2vv w2vv_attention_ctl,$$($(PY) -m w2vv.settings --run_name demo.ini $(c))) \
	  --out $(DEMO_ROOT)/results/demo.txt

# one root per seed: demo_root and its copies with hard links, demo_root_seed1, demo_root_seed2 (tools/demo_family.py)
FAMILY_JOBS ?= 2
demo-family: venv
	$(PY) -m tools.make_demo_data $(DEMO_ROOT)
	$(PY) -m tools.demo_family --ini demo-family.ini --seeds 0 1 2 --jobs $(FAMILY_JOBS)

JA_QUERY ?= 浜辺の犬
demo-ja: venv-ja
	$(PY) -m tools.make_demo_data $(DEMO_ROOT) --ja
	./do_all.sh --ini demo-ja.ini w2vv_attention_ctl
	@echo; echo "== search: $(JA_QUERY) (Japanese model, CLM through the English sentences) =="
	@run=$$($(PY) -m w2vv.settings --run_name demo-ja.ini w2vv_attention_ctl); \
	en_run=$$($(PY) -m w2vv.settings --en_run_name demo-ja.ini w2vv_attention_ctl); \
	$(PY) search.py --quiet --k 5 --model_path $(DEMO_ROOT)/cocojatrain/cv_keras/cocojaval/w2vv_trainer.py/$$run \
	  --model_path $(DEMO_ROOT)/mscoco2014dev-train/cv_keras/mscoco2014dev-val/w2vv_trainer.py/$$en_run "$(JA_QUERY)"

# --dist loadfile: a file's tests on one worker, so that its module-scoped roots are built once.
PYTEST_WORKERS ?= 2

# The tests that run again on every other backend whose venv exists (make venv-jax, venv-torch): the
# replay of the original's steps and of W2VV++'s and SEA's, their Chinese models in the English models' space (frozen
# towers), the original's checkpoints, data parallelism, the backend rules and
# a one-epoch do_all.sh (test_backends.py); on JAX also the pipeline's learning (PyTorch runs eagerly:
# too slow for it on a CPU)
BACKEND_TESTS_torch := tests/test_optimizers.py tests/test_family_replay.py tests/test_family_languages.py \
	tests/test_original_checkpoints.py tests/test_distribute.py tests/test_backends.py
BACKEND_TESTS_jax := $(BACKEND_TESTS_torch) tests/test_pipeline.py
backend_tests = if [ -x $(VENV)-$(1)/bin/python ]; then echo "== KERAS_BACKEND=$(1) ($(VENV)-$(1))"; \
	KERAS_BACKEND=$(1) $(VENV)-$(1)/bin/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile \
	  $(BACKEND_TESTS_$(1)); fi

test: venv
	@$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc
	@$(call backend_tests,jax)
	@$(call backend_tests,torch)

test-fast: venv
	@$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not slow" tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

lint: venv
	$(PY) -m ruff check .

clean-demo:
	rm -rf $(DEMO_ROOT) $(DEMO_ROOT)_seed*

# make bench: speed and memory at quick shapes; make bench FULL=1: the paper's shapes (bench/README.md)
# (training input, model step, ranking, prediction, word2vec, memory; then the search gallery; then the doctor;
#  then feature extraction and the search service)
bench: venv
	$(PY) -m bench.bench_pipeline $(if $(FULL),--full,)
	$(PY) -m bench.bench_search $(if $(FULL),--full,)
	$(PY) -m bench.bench_doctor $(if $(FULL),--full,)
	$(PY) -m bench.bench_extract
	$(PY) -m bench.bench_service $(if $(FULL),,--sizes demo --threads "")

# make bench-gpu [FIXTURES=DIR] [TINY=1]: the paper config's training speed under each GPU setting
# (docs/gpu.md); DIR holds original_train_steps/ (the replay that picks the faithful default).
# It needs no venv: on a GPU machine it runs the python3 there (KERAS_BACKEND=jax where TensorFlow is absent).
GPU_PY = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
bench-gpu:
	$(GPU_PY) -m bench.bench_gpu $(if $(FIXTURES),--fixtures $(FIXTURES),) $(if $(TINY),--size tiny,)

# make gpu-wheels: Keras and the two of its dependencies a JAX-only image may lack, as Python 3.12
# x86-64 wheels in bench_out/wheels (namex, optree: the versions tested here), for a GPU machine without
# internet (docs/gpu.md)
gpu-wheels:
	$(GPU_PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d bench_out/wheels $(shell grep -hE '^keras==' requirements-base.txt) namex==0.1.0 optree==0.20.0
