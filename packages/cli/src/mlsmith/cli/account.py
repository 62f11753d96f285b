"""``mlsmith login``, ``logout`` and ``whoami``: the CLI's session with a server.

After ``login`` the mode-agnostic commands (train, runs, promote, models, predict) talk to that
server; after ``logout`` they are embedded again. Secrets are read from a hidden prompt or stdin,
never from the command line, and never printed.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mlsmith.cli.context import state
from mlsmith.cli.output import console, print_json, print_warning

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def login(
    url: Annotated[
        str | None,
        typer.Option(help="Server URL, e.g. https://mlsmith.example.com (default: the last one)."),
    ] = None,
    email: Annotated[str | None, typer.Option(help="Account e-mail (prompted if missing).")] = None,
    workspace: Annotated[
        str | None,
        typer.Option(help="Workspace name or id (default: your first workspace)."),
    ] = None,
    api_key: Annotated[
        bool,
        typer.Option("--api-key", help="Store an API key (prompted, or from stdin) instead."),
    ] = False,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password (or API key) from stdin, not a prompt."
        ),
    ] = False,
) -> None:
    """Log in to an mlsmith server and keep the session in ~/.config/mlsmith (mode 0600)."""
    from mlsmith.cli import credentials
    from mlsmith.cli.credentials import Credentials
    from mlsmith.cli.remote import API, Remote, pick_workspace
    from mlsmith.core.errors import InvalidInput

    previous = credentials.load() if url is None else None
    if url is None and previous is None:
        raise InvalidInput("no server yet: pass --url https://HOST")
    base = credentials.normalize_url(url or previous.url)
    host = base.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if base.startswith("http://") and host not in LOCAL_HOSTS:
        print_warning("http:// sends your credentials unencrypted; use https:// outside localhost")

    prompt = "API key" if api_key else "Password"
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        if not api_key and email is None:
            email = typer.prompt("E-mail")
        secret = typer.prompt(prompt, hide_input=True)
    if not secret:
        raise InvalidInput(f"empty {prompt.lower()}")

    if api_key:
        creds = Credentials(url=base, api_key=secret)
    else:
        if email is None:
            raise InvalidInput("--email is required with --password-stdin")
        creds = Credentials(url=base, email=email)
    client = Remote(creds)
    try:
        if not api_key:
            pair = client.api.json(
                "POST", f"{API}/auth/login", json={"email": email, "password": secret}
            )
            creds.access_token, creds.refresh_token = pair["access_token"], pair["refresh_token"]
        me = client.me()
        ws = pick_workspace(me["workspaces"], workspace)
        creds.workspace_id, creds.workspace = ws["id"], ws["name"]
        creds.email = me["user"]["email"]
        path = credentials.save(creds)
    finally:
        client.close()
    console.print(
        f"logged in to {base} as {creds.email} (workspace {creds.workspace}); saved to {path}",
        highlight=False,
        soft_wrap=True,
    )


def logout() -> None:
    """End the server session (revoked on the server) and forget it here."""
    from mlsmith.cli import credentials
    from mlsmith.cli.remote import API, Remote
    from mlsmith.core.errors import MlsmithError

    creds = credentials.from_env()
    if creds is not None:
        print_warning(
            f"{credentials.ENV_URL} and {credentials.ENV_API_KEY} are set: unset them to log out"
        )
    path = credentials.credentials_path()
    try:
        saved = None if not path.exists() else credentials.load_file()
    except MlsmithError:
        saved = None  # unreadable: still remove it
    if saved is not None and saved.refresh_token:
        client = Remote(saved)
        try:
            body = {"refresh_token": saved.refresh_token}
            client.api.request("POST", f"{API}/auth/logout", json=body)
        except MlsmithError as exc:
            print_warning(f"the server did not end the session ({exc.message}); forgetting it here")
        finally:
            client.close()
    if credentials.delete():
        where = f" of {saved.url}" if saved is not None else ""
        console.print(f"logged out{where}", highlight=False, soft_wrap=True)
    else:
        console.print("not logged in", highlight=False)


def whoami(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Who the commands act as, and where: the server and workspace, or embedded mode."""
    from mlsmith.cli.remote import Remote
    from mlsmith.core.errors import Unauthenticated

    st = state(ctx)
    client = st.client
    if not isinstance(client, Remote):
        where = st.settings.data_dir
        if not st.local and st.data_dir is None:
            raise Unauthenticated(
                f"not logged in: run `mlsmith login --url URL` (commands run embedded on {where})"
            )
        if as_json:
            print_json({"mode": "embedded", "data_dir": str(where)})
        else:
            console.print(f"embedded mode on {where}", highlight=False, soft_wrap=True)
        return
    me = client.me()
    workspace_id = client.workspace_id
    info = {
        "mode": "remote",
        "url": client.creds.url,
        "email": me["user"]["email"],
        "via": me["via"],
        "workspace": client.creds.workspace,
        "workspace_id": workspace_id,
    }
    if as_json:
        print_json(info)
    else:
        console.print(
            f"{info['email']} on {info['url']} (workspace {info['workspace']}, via {info['via']})",
            highlight=False,
            soft_wrap=True,
        )
