"""The paper's results table (docs/method.md#the-papers-numbers): the test mIR of CL, CM and CLM
per run, read from their ``metrics.json``."""
from . import layout
from .comparison import ROUTES, require_same_test_data, results_trace
from .fusion_runs import given_english_run, require_not_validated_on, require_tested
from .pivot_space import own_image_towers
from .ranking import read_run_mir
from .result_checks import require_a_test_split, require_computed_alike, require_one_model_per_run

PAPER = layout.DEFAULT_COLLECTIONS  # the paper's collections: the default of every role

RESULT_COLUMNS = tuple(ROUTES)  # CL, CM, CLM


def result_row(root, config, query_test=PAPER["query_test"], query_train=PAPER["query_train"]):
    """The test mIRs (CL, CM, CLM) of a config at full precision (see ``read_run_mir``); CL and CLM None for a
    successor with its own image towers, which has neither (``pivot_space.own_image_towers``)."""
    require_tested(root, config, query_test, query_train)
    folders = [folder(root, config, query_test, query_train) for folder in ROUTES.values()]
    cm_alone = own_image_towers(folders[1])
    for folder in folders:
        require_a_test_split(folder, query_test)
    require_not_validated_on(root, config, query_test, query_train)
    require_one_model_per_run(folders)  # CLM's weight chosen by the model of one val, CM ranked by another's
    return tuple(None if cm_alone and folder != folders[1] else read_run_mir(folder) for folder in folders)


def row_name(root, config, query_test, query_train):
    """The run's name, with the English run its CL matched against where that is not the run's own English model
    (``cross_lingual.py --en_run``): ``base_w2vv (English: w2vv_attention_ctl)``."""
    english = given_english_run(root, config, query_test, query_train)
    return config if english is None else f"{config} (English: {english})"


def format_table(rows):
    """``model  CL  CM  CLM`` with one line per (config, (cl, cm, clm)), mIR to 3 decimals (a route the run
    has not: —)."""
    name_width = max([18] + [len(config) for config, _ in rows]) + 4  # 22 fits w2vv_attention_ctl
    lines = ["model".ljust(name_width) + "".join(c.ljust(7) for c in RESULT_COLUMNS).rstrip()]
    for config, values in rows:
        lines.append(config.ljust(name_width) + "  ".join("—".ljust(5) if v is None else f"{v:.3f}"
                                                          for v in values).rstrip())
    return "\n".join(lines) + "\n"


def result_table(root, configs, query_test=PAPER["query_test"], query_train=PAPER["query_train"]):
    """The CL/CM/CLM table of ``configs`` read from disk; InputError naming a missing metrics.json, a route
    computed otherwise for one config than for another (fuse.py's ``rank_norm``), or tested on other sentences or
    images (``comparison.require_same_test_data``)."""
    for column, folder in ROUTES.items():
        require_computed_alike(column, [folder(root, config, query_test, query_train) for config in configs])
    rows = [(row_name(root, config, query_test, query_train), result_row(root, config, query_test, query_train))
            for config in configs]
    require_same_test_data(root, {config: {route: results_trace(root, ROUTES[route](root, config, query_test,
                                                                                    query_train))
                                           for route in ("CM", "CL")} for config in configs})
    return format_table(rows)
