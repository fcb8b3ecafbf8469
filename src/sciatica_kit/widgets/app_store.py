"""The store the apps open, and the clinic settings they read: light (no pandas, no widgets)."""

from __future__ import annotations

from sciatica_kit.settings import clinic_store_location

__all__ = ["app_setting", "clinic_store_location", "open_app_store"]


def app_setting(section: str, key: str):
    """One value from the clinic's settings file (None when absent or unreadable).

    Parameters
    ----------
    section : str
        The file's section (``"store"``, ``"exports"`` ...).
    key : str
        The key in that section.

    Returns
    -------
    object or None
    """
    try:
        from sciatica_kit.settings import load_settings

        return (load_settings().get(section) or {}).get(key)
    except Exception:  # an unreadable settings file is reported where the store is opened
        return None


def open_app_store():
    """The store the apps open: the clinic store when configured, else the demo store (seeded).

    Returns
    -------
    Store
        Open; the caller closes it.
    """
    location = clinic_store_location()
    if location:
        from sciatica_kit.store import Store

        user = app_setting("store", "user")
        return Store(location, user=str(user) if user else None)
    from sciatica_kit.demo import open_demo_store

    return open_demo_store()
