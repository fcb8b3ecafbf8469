# Sciatica Kit - the clinic configuration on one machine, for trying it (make hub) and for the tests.
#
# Loads jupyterhub_config.py unchanged, then swaps what a laptop cannot have:
# demo logins with one shared password (another for the admin; make hub prints both),
# servers started as the same account (no OS users needed), the hub on loopback only.
# Never use this file for a real clinic.

import os
from pathlib import Path

c = get_config()  # noqa: F821
load_subconfig(str(Path(__file__).with_name("jupyterhub_config.py")))  # noqa: F821

c.JupyterHub.authenticator_class = "shared-password"  # JupyterHub >= 5.3; for trying only
c.SharedPasswordAuthenticator.user_password = os.environ["SCIATICA_HUB_DEMO_PASSWORD"]
c.SharedPasswordAuthenticator.admin_password = os.environ["SCIATICA_HUB_DEMO_ADMIN_PASSWORD"]

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.environ["SCIATICA_HUB_STATE"] + "/homes/{username}"
if os.geteuid() == 0:  # a container run as root: let each clinician's server start anyway
    c.Spawner.args = [*c.Spawner.args, "--ServerApp.allow_root=True"]

c.JupyterHub.bind_url = os.environ.get("SCIATICA_HUB_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = os.environ.get("SCIATICA_HUB_INTERNAL_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("SCIATICA_HUB_PROXY_API_URL", "http://127.0.0.1:8001")

# The tests drive the hub through its REST API with a service token.
token = os.environ.get("SCIATICA_HUB_SERVICE_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "kit-tests", "api_token": token}]
    c.JupyterHub.load_roles = [{
        "name": "kit-tests",
        "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
        "services": ["kit-tests"],
    }]
