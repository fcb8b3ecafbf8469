# Sciatica Kit - JupyterHub for a clinic: one login per physiotherapist, one shared patient store.
#
# Everything a clinic changes comes from the environment (or the owner-only file below);
# nothing secret is written here or anywhere in the repository.
#
#   SCIATICA_HUB_DB_URL    the hub's own database, e.g. postgresql+psycopg://hub:PASSWORD@127.0.0.1/hub
#   SCIATICA_KIT_STORE     the kit's shared patient store, e.g. postgresql+psycopg://kit:PASSWORD@127.0.0.1/kit
#   SCIATICA_HUB_USERS     who may log in, comma-separated: a.khan,b.lee,c.ortiz
#   SCIATICA_HUB_ADMIN     the clinic's hub administrator (also allowed to log in)
#   SCIATICA_HUB_AUTH      optional: "native" (sign-up, the admin approves) or "pam" (the server's accounts);
#                          unset keeps what The Littlest JupyterHub configured
#   SCIATICA_KIT_NOTEBOOKS optional: the folder holding the kit's notebooks (default: ../../notebooks)
#   SCIATICA_HUB_BIND_URL  optional: where the hub listens, e.g. http://127.0.0.1:8000
#   SCIATICA_HUB_STATE     optional: folder for the hub's cookie secret (default /var/lib/sciatica-kit-hub)
#
# The values may instead sit in an owner-only file of KEY=VALUE lines (chmod 600), by default
# /etc/sciatica-kit/hub.env, or wherever SCIATICA_HUB_SECRETS points. A file that other
# accounts can read is refused.
#
# Use: `jupyterhub -f deploy/hub/jupyterhub_config.py`, or with The Littlest JupyterHub copy it to
# /opt/tljh/config/jupyterhub_config.d/sciatica_kit.py and run `sudo tljh-config reload`.
# `make hub` runs it on this machine with two demo clinicians (deploy/hub/local_config.py).

import os
import stat
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

HERE = Path(__file__).resolve().parent


def _load_owner_only_file(path):
    """KEY=VALUE lines from an owner-only file into the environment (the environment wins)."""
    path = Path(path)
    if not path.exists():
        return
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SystemExit(f"{path} can be read by other accounts; make it owner-only: chmod 600 {path}")
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            os.environ.setdefault(key.strip(), value.strip().strip('"'))


def _setting(name, default=None):
    value = os.environ.get(name, "").strip()
    if not value and default is None:
        raise SystemExit(f"Set {name} (in the environment or the owner-only file {SECRETS}); see deploy/hub/jupyterhub_config.py")
    return value or default


SECRETS = os.environ.get("SCIATICA_HUB_SECRETS", "/etc/sciatica-kit/hub.env")
_load_owner_only_file(SECRETS)

# --- the hub's own database (users, sessions, servers) in PostgreSQL, driver named explicitly
db_url = _setting("SCIATICA_HUB_DB_URL")
if db_url.startswith("postgresql://"):  # name the driver the kit installs (psycopg 3), not psycopg2
    db_url = "postgresql+psycopg://" + db_url.removeprefix("postgresql://")
c.JupyterHub.db_url = db_url

# --- who may log in: JupyterHub 5 lets nobody in without an allowed list
admin = _setting("SCIATICA_HUB_ADMIN")
clinicians = {name.strip() for name in _setting("SCIATICA_HUB_USERS").split(",") if name.strip()}
c.Authenticator.allowed_users = clinicians | {admin}
c.Authenticator.admin_users = {admin}

auth = os.environ.get("SCIATICA_HUB_AUTH", "").strip()
if auth == "native":  # sign-up page at /hub/signup; the admin approves each account at /hub/authorize
    c.JupyterHub.authenticator_class = "nativeauthenticator.NativeAuthenticator"
    c.NativeAuthenticator.open_signup = False
    import importlib.util

    native = importlib.util.find_spec("nativeauthenticator")
    if native is not None and native.origin:  # its sign-up and authorize pages (as its quickstart says)
        c.JupyterHub.template_paths = [str(Path(native.origin).parent / "templates")]
elif auth == "pam":  # the server's own accounts (The Littlest JupyterHub's default)
    c.JupyterHub.authenticator_class = "pam"
elif auth:
    raise SystemExit(f"SCIATICA_HUB_AUTH is '{auth}'; write native or pam, or leave it unset")

# --- every clinician's server: the shared store, the kit's apps first, JupyterLab one click away
c.Spawner.environment = {"SCIATICA_KIT_STORE": _setting("SCIATICA_KIT_STORE")}
# The hub login reaches each server as $JUPYTERHUB_USER; the kit records it with every entry.
c.Spawner.notebook_dir = _setting("SCIATICA_KIT_NOTEBOOKS", str(HERE.parent.parent / "notebooks"))
c.Spawner.default_url = "/voila/render/00_home.ipynb"  # JupyterLab: the same address with /lab
c.Spawner.start_timeout = 120
# A closed app page leaves its kernel running (voila#1458): stop kernels that no page has been
# connected to for an hour and that are not busy (as `make app` does). Open pages are never touched.
# Kernel ports come from below the system's ephemeral range, so no other connection can take one
# before the kernel binds it (with many clinicians' pages opening at once, a kernel could otherwise
# die with "Address already in use"): sciatica_kit/kernels.py, as `make app` and `make lab`.
# The app pages use the kit's Voila template: Voila's own holds every page until a stylesheet from a
# public CDN arrives, which never happens on a clinic network that drops internet traffic.
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=3600", "--MappingKernelManager.cull_interval=60",
                  "--MappingKernelManager.kernel_manager_class=sciatica_kit.kernels.KitKernelManager",
                  "--VoilaConfiguration.template=sciatica"]
c.Spawner.http_timeout = 120

# --- secrets the hub makes itself stay outside the repository, owner-only
state = Path(_setting("SCIATICA_HUB_STATE", "/var/lib/sciatica-kit-hub"))
state.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")  # or $JUPYTERHUB_COOKIE_SECRET
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

bind_url = os.environ.get("SCIATICA_HUB_BIND_URL", "").strip()
if bind_url:
    c.JupyterHub.bind_url = bind_url
