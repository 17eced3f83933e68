"""The collections of a pipeline by role (``query_train`` … ``en_test``; the paper's: ``layout.DEFAULT_COLLECTIONS``):
the query roles' former names, and what makes a set of roles wrong (two roles of one collection, a group of two
languages, an ``en_`` collection not English)."""
from . import languages

# The query-language roles' former names (the paper's language), still read from an ini or a command line.
FORMER_ROLES = {"zh_train": "query_train", "zh_val": "query_val", "zh_test": "query_test"}
SHARED_COLLECTION = ("train, val and test must be three collections (val picks the best epoch and the CLM "
                     "weight: figures on it, or on the training data, would flatter the model)")


def role_problem(roles, flag="", declared=None):
    """What is wrong with ``roles`` ({role: collection}, e.g. ``query_val``), as (the roles at fault, one
    sentence naming them, ``flag`` before each), or None. A role's group is its prefix (``query``, ``en``;
    none for a trainer's train, val and test): two roles of a group naming one collection, a group whose
    collections are of two languages, and an ``en_`` collection not English (the pivot) are wrong.
    ``declared``: the languages declared (``languages.parse_declarations``; None: this process's)."""
    return _shared_collection(roles, flag) or _other_language(roles, flag, declared)


QUERY = "query"  # the query language's roles: query_train, query_val, query_test


def _group(role):
    return role.rpartition("_")[0]


def _shared_collection(roles, flag):
    seen = {}
    for role, collection in roles.items():
        other = seen.setdefault((_group(role), collection), role)
        if other != role:
            return (other, role), f"{flag}{other} and {flag}{role} are both {collection}: {SHARED_COLLECTION}"
    return None


def _other_language(roles, flag, declared):
    lead = {}  # group: (its first role, that role's language)
    pivot = languages.LANGUAGES[languages.PIVOT].name
    for role, collection in roles.items():
        group, lang = _group(role), languages.LANGUAGES[languages.language_of(collection, declared)]
        if group == languages.PIVOT and lang.code != languages.PIVOT:  # en_*: the pivot's roles
            return (role,), (f"{flag}{role} is {collection}, a collection of {lang.name} sentences (by its name, "
                             f"or the languages declared): the {flag}{group}_* collections are the pivot's, {pivot}")
        first, first_lang = lead.setdefault(group, (role, lang))
        if group == QUERY and first == role and lang.code == languages.PIVOT:  # a languages pattern mistyped
            declare = "--languages" if flag else "languages ="
            return (role,), (f"{flag}{role} is {collection}, a collection of {pivot} sentences (by its name, or the "
                             f"languages declared): the {flag}{group}_* collections are the query language's, which "
                             f"CL matches to the pivot's, {pivot}; declare theirs ({declare} {collection}=CODE)")
        if lang.code != first_lang.code:
            return (first, role), (f"{flag}{role} is {collection}, a collection of {lang.name} sentences, but "
                                   f"{flag}{first} is {roles[first]}, of {first_lang.name} ones (by their names, or "
                                   f"the languages declared): a model's train, val and test collections are of "
                                   f"one language")
    return None
