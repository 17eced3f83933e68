# make demo: venv + demo data + the whole pipeline for two paper configs (small profile)
# make test: venv + the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ROOT := demo_root

.PHONY: demo test venv clean-demo bench

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) tools/make_demo_data.py $(DEMO_ROOT)
	./do_all.sh --ini demo.ini base_w2vv
	./do_all.sh --ini demo.ini w2vv_attention_ctl
	@echo; echo "== demo results (mIR on cococntest; also in $(DEMO_ROOT)/results/) =="
	@$(PY) report.py --rootpath $(DEMO_ROOT) $(foreach c,base_w2vv w2vv_attention_ctl,$$($(PY) -m w2vv.settings --run_name demo.ini $(c))) \
	  --out $(DEMO_ROOT)/results/demo.txt

test: venv
	@$(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

clean-demo:
	rm -rf $(DEMO_ROOT)

# make bench: speed and memory at quick shapes; make bench FULL=1: the paper's shapes (bench/README.md)
# (training input, model step, ranking, prediction, word2vec, memory; then the search gallery; then the doctor;
#  then feature extraction and the search service)
bench: venv
	$(PY) bench/bench_pipeline.py $(if $(FULL),--full,)
	$(PY) bench/bench_search.py $(if $(FULL),--full,)
	$(PY) bench/bench_doctor.py $(if $(FULL),--full,)
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_service.py $(if $(FULL),,--sizes 1000)
