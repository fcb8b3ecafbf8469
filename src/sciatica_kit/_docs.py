"""Parameter descriptions shared by many public functions, written once.

A docstring names a shared parameter with a line holding only ``{name}`` in its
Parameters section; :func:`shared_docs` puts the description there, indented to
match (the way pandas' ``@doc`` and matplotlib's ``interpd`` share text).

>>> @shared_docs
... def f(catalog=None):
...     '''Do a thing.
...
...     Parameters
...     ----------
...     {catalog}
...     '''
>>> "catalogue" in f.__doc__
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

PARAMETERS = {
    "catalog": """catalog : Catalog, optional
    The catalogue to use; default the kit's own, with the clinic's extra file when one is set.""",
    "patient_id": """patient_id : str
    The clinic's id for the patient (see :func:`sciatica_kit.patient_id.valid_patient_id`).""",
    "user": """user : str, optional
    Who is acting, recorded with the change; default the store's user (see :class:`~sciatica_kit.store.Store`).""",
    "log": """log : pandas.DataFrame
    A tidy progress log (``patient_id, date, measure, side, value, note``), as
    :func:`sciatica_kit.read_log` or ``Store.read`` give it; it may hold other patients.""",
    "store": """store : Store
    An open :class:`~sciatica_kit.store.Store`.""",
    "store_location": """store_location : str, optional
    A store's file path or server URL; default the clinic store when configured, else the kit's default.""",
    "seed": """seed : int, optional
    Seed of the random generator: the same seed gives the same synthetic patients.""",
    "n_patients": """n_patients : int, optional
    How many synthetic patients.""",
    "app_store": """store : Store, optional
    The store the app will open (default: the app store, opened and closed here).""",
    "stop": """stop : threading.Event, optional
    Anything with ``is_set()``: once set (the visitor arrived, or a waiting kernel's round of
    drawing is over) no further chart is started, and the call returns what it drew.""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)\{(\w+)\}[ \t]*$", re.MULTILINE)


def shared_docs(func: F) -> F:
    """Fill ``{name}`` lines in ``func``'s docstring from :data:`PARAMETERS`.

    Parameters
    ----------
    func : callable
        A function or method whose docstring names shared parameters.

    Returns
    -------
    callable
        The same function, its docstring completed.
    """

    def fill(m: re.Match) -> str:
        indent, name = m.groups()
        if name not in PARAMETERS:
            raise KeyError(f"no shared description for parameter {name!r} in {func.__qualname__}")
        return "\n".join(indent + line for line in PARAMETERS[name].splitlines())

    if func.__doc__:
        func.__doc__ = _PLACEHOLDER.sub(fill, func.__doc__)
    return func
