"""What every command-line script shares: the error contract, progress logging, and the
arguments the scripts have in common (one definition each: the same name, default and help in
every script, and the same name as the ini key ``do_all.sh`` passes it from).

Bad input (``InputError``) prints one line, ``error: <file>[:<line>]: <what>``, and exits 1;
the traceback only with ``--debug``."""
import argparse
import os
import sys
import time

from . import backend, interrupts, languages
from .atomic import disk_full
from .collection_roles import FORMER_ROLES, role_problem
from .errors import InputError
from .layout import DEFAULT_COLLECTIONS, DEFAULT_FEATURE_COLLECTION, is_collection_name

ROLE_HELP = {"en_train": "English training collection", "en_val": "English validation collection",
             "en_test": "English test collection",
             "query_train": "training collection of the query language (Chinese in the paper)",
             "query_val": "validation collection of the query language",
             "query_test": "test collection of the query language"}


def log(message):
    # one write per line: print() writes the line and its end apart, and another thread's line
    # (the service logs from several) could land between them
    sys.stdout.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()


def quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras_verbosity():
    """Keras's progress display: a bar on a terminal, one line per epoch in a log file or CI."""
    return 1 if sys.stdout.isatty() else 2


def add_rootpath(parser):
    parser.add_argument("--rootpath", required=True, help="the VisualSearch root")


def parser(description, raw=False):
    """A script's argument parser: its ``description`` (``raw``: printed as written) and ``--debug``,
    the same in every script."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter)
    add_debug(p)
    return p


class _Retired(argparse.Action):
    """A flag's former name: used, it stops with one line naming the flag to use instead."""

    def __init__(self, option_strings, dest, instead, **kwargs):
        super().__init__(option_strings, argparse.SUPPRESS, nargs="?", help=argparse.SUPPRESS, **kwargs)
        self.instead = instead

    def __call__(self, parser, namespace, values, option_string=None):
        raise InputError(f"{option_string} is now {self.instead} (see --help)")


def retire(parser, former, instead):
    """``former``, a flag this script no longer takes, answered with one line naming ``instead``."""
    parser.add_argument(former, action=_Retired, instead=instead)


def collection(value):
    """An argparse type: a collection's name, one folder of the root (``cococntest/``, as the shell completes it,
    found no ImageSets file)."""
    if not is_collection_name(value):
        hint = " (without the trailing /)" if is_collection_name(value.rstrip("/" + os.sep)) else ""
        raise argparse.ArgumentTypeError(f"{value!r}: expected a collection name, one folder of the root{hint}")
    return value


def add_collections(parser, *roles):
    """The collections of ``roles`` (``--en_train``, ``--query_test``…); a former name (``--zh_test``…)
    stops with one line naming the new one."""
    former = {new: old for old, new in FORMER_ROLES.items()}
    for role in roles:
        parser.add_argument(f"--{role}", dest=role, default=DEFAULT_COLLECTIONS[role], type=collection,
                            help=f"{ROLE_HELP[role]} (default %(default)s)")
        if role in former:
            retire(parser, f"--{former[role]}", f"--{role}")


def _checked_declarations(text):
    try:
        languages.parse_declarations(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


SEEDS = range(2 ** 32)  # the seeds numpy's and Keras's generators take


def seed(text):
    """argparse type of a random seed: a whole number in ``SEEDS``."""
    value = int(text) if text.strip().lstrip("-").isdecimal() else None
    if value not in SEEDS:
        raise argparse.ArgumentTypeError(f"{text!r}: a seed is a whole number from 0 to {SEEDS[-1]}")
    return value


def add_languages(parser):
    """``--languages``: the collections' languages, checked when parsed and declared for the process by
    ``parse_args`` (its default, none, restores the paper's rule), so that every module asking
    ``w2vv.languages`` about a collection gets the script's answer."""
    parser.add_argument("--languages", default="", type=_checked_declarations,
                        help="languages of collections not named by the paper's rule: 'PATTERN=CODE …', "
                             "e.g. 'cocoja*=ja' (default: 'cn' in the name: zh, else en)")


RUN_HELP = "run name: the config's (e.g. w2vv_attention_ctl), tagged when trained with other settings"


def add_config(parser, required=True):
    """``--config NAME``: a config of ``w2vv_configs/`` (or a path to a ``.py``), what a run starts from, in
    every script (``--model_config``, its former name, stops with one line)."""
    parser.add_argument("--config", required=required, metavar="CONFIG",
                        help="model config: w2vv_configs/NAME.py, or a path to a .py")
    retire(parser, "--model_config", "--config")


def add_run(parser, option="--run", required=True, help=RUN_HELP):
    """``--run NAME``: a trained run, by its name (``python -m w2vv.settings --run_name INI CONFIG`` prints
    the one do_all.sh uses), in every script; ``--config`` there, its former name, stops with one line
    (``--config`` is a model config everywhere)."""
    parser.add_argument(option, dest=option[2:], required=required, metavar="RUN", help=help)
    retire(parser, option.replace("run", "config"), option)  # --config, --en_config


def parse_args(parser, argv, stray=""):
    """``parser.parse_args(argv)``, with an argument the script does not take (a positional of a former
    spelling) stopped in one line (``stray``: what to give instead); then what the arguments declare for
    the whole process: the collections' languages (``--languages``, ``add_languages``)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise InputError(f"unexpected argument {unknown[0]!r}{' (' + stray + ')' if stray else ''}; see --help")
    if hasattr(args, "languages"):
        languages.declare(args.languages)
    refuse_role_problems(parser, {role: getattr(args, role) for role in DEFAULT_COLLECTIONS
                                  if hasattr(args, role)}, flag="--")
    return args


def refuse_role_problems(parser, roles, flag=""):
    """A usage error where ``roles`` ({role: collection}) are not what the method needs
    (``collection_roles.role_problem``: two roles of one collection, a group of two languages)."""
    problem = role_problem(roles, flag)
    if problem:
        parser.error(problem[1])


def refuse_repeats(parser, flag, values, key=None):
    """A usage error naming what ``flag`` lists twice (compared by ``key``, e.g. a path's real path): a table
    row or a seed counted twice says nothing new and skews a mean."""
    keys = [key(v) for v in values] if key else list(values)
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        parser.error(f"{flag}: {' '.join(map(str, repeated))} given twice")


def add_config_overrides(parser):
    parser.add_argument("--config_overrides", default="",
                        help="change config attributes for this run: 'k=v,…', e.g. 'lstm_size=64,n_layers=0-256-256'")


def add_feature_collection(parser, trained=False):
    """``--feature_collection``: for a run to train (default: the layout's), or of a ``trained`` model
    (default: its record's)."""
    default = "the model's, from its record" if trained else DEFAULT_FEATURE_COLLECTION
    parser.add_argument("--feature_collection", default=None if trained else DEFAULT_FEATURE_COLLECTION,
                        help=f"the collection holding FeatureData (default: {default})")


def add_overwrite(parser, default=0, what="redo work already done"):
    """``--overwrite 0|1`` in every script (``--overwrite`` alone: 1), as the ini's ``overwrite``."""
    parser.add_argument("--overwrite", type=int, nargs="?", const=1, default=default, choices=[0, 1],
                        help=f"1 (or --overwrite alone): {what}; 0: skip it (default {default})")


def add_wait(parser):
    parser.add_argument("--wait", action="store_true",
                        help="when another run writes the same files, wait for it instead of stopping")


class _Debug(argparse.Action):
    """``--debug``: parsed, it asks ``run`` for the traceback instead of the one-line error."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
        _debug_asked[0] = True


_debug_asked = [False]  # set by --debug when a script's arguments are parsed (add_debug), read by run


def add_debug(parser):
    parser.add_argument("--debug", action=_Debug, help="show tracebacks")


def run(main, argv=None, resumes=None):
    """Check the Keras backend, then call ``main(argv)``; turn an InputError into a one-line message
    and exit status 1 (the traceback when the script's ``--debug``, from ``add_debug``, was given). ``resumes``: how
    the script goes on when run again after Ctrl-C (its line says so)."""
    argv = sys.argv[1:] if argv is None else argv
    _debug_asked[0] = False
    try:
        backend.check()
        with interrupts.raising():
            return main(argv) or 0
    except InputError as e:
        if _debug_asked[0]:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of the output left (``| head``): stop quietly, as other tools do
        _discard_stdout()
        return 1
    except OSError as e:  # a file that cannot be written or read (a folder in the way, no permission, a full disk)
        if _debug_asked[0]:
            raise
        print(f"error: {_os_error_line(e)}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemError) as e:  # Ctrl-C: every file is written whole or not at all
        if _debug_asked[0] or not _interrupted(e):
            raise
        print(f"{interrupts.LINE}{f' ({resumes})' if resumes else ''}", file=sys.stderr)
        return 130


def _interrupted(error):
    """Whether ``error`` is Ctrl-C: a KeyboardInterrupt, or the SystemError a C function of TensorFlow returns when
    one was raised while it ran (its cause or context)."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False


def _os_error_line(error):
    """The one line of an OSError that reached ``run``: the path(s) it names and why; a full disk under standard
    output (a redirection) said so, what is left of the output discarded."""
    if disk_full(error) and error.filename is None:  # the project's own writes name their file (w2vv.atomic)
        _discard_stdout()
        return ("standard output: cannot write it, no space left on the device (what was printed is cut short); "
                "free space, then run the same command again")
    paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
    why = error.strerror or str(error)
    if disk_full(error):
        why += " (free space, then run the same command again)"
    return f"{paths}: {why}" if paths else f"{why} (--debug shows where)"


def _discard_stdout():
    """Send what is left of standard output nowhere: Python's flush at exit would fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
