"""The README's API walkthrough runs as written against a live server."""

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.services import token_create
from agents.models import Agent, AgentMember

README = Path(__file__).resolve().parent.parent / "README.md"


def _walkthrough() -> str:
    text = README.read_text()
    section = text.split("## The API in five lines", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_curl_lines_work(live_server, make_user):
    # given the demo-like state the README assumes: a user with a token, and ops@example.com
    demo = make_user("demo")
    make_user("ops", email="ops@example.com")
    _token, raw = token_create(user=demo, name="demo", scopes=["agents:read", "agents:write", "agents:run"])
    script = _walkthrough().replace("http://127.0.0.1:8000", live_server.url)
    script = re.sub(r"^TOKEN=.*$", "", script, flags=re.M)

    # when the lines run one after another, each printing its answer on a line of its own
    script = script.replace("curl -s ", "curl -s -w '\\n' ")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={"TOKEN": raw, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)

    # then every answer is a success body and the database shows the effects
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == 5
    assert all("data" in answer for answer in answers), answers
    assert answers[0]["data"]["scopes"] == ["agents:read", "agents:run"] and answers[0]["data"]["token"]
    agent = Agent.objects.get(slug="triage-bot")
    assert agent.config["instructions"] == "Label each ticket bug, question or request."
    assert AgentMember.objects.get(agent=agent, user__email="ops@example.com").role == "admin"


def _section_blocks(heading: str) -> list[str]:
    section = README.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_run_lines_work(live_server, celery_worker, fake_llm, settings):
    from agents.demo import seed_demo

    # given make run's state: the demo user, its token and agents, a worker running
    settings.AGENTRY_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    _user, raw = seed_demo(password="demo-password")
    run_block, provider_block = _section_blocks("## Run an agent")
    env = {"TOKEN": raw, "PATH": "/usr/bin:/bin"}

    def run(script):
        script = re.sub(r"^TOKEN=.*$", "", script.replace("http://127.0.0.1:8000", live_server.url), flags=re.M)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("curl -s ", "curl -s -w '\\n' ")],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    # when the run lines run: invoke, queue + follow events, stream
    out = run(run_block)

    # then the echo provider answered each, and both streams ended with done
    invoked = json.loads(out.splitlines()[0])["data"]
    assert invoked["output"] == "Where is my order?" and invoked["status"] == "succeeded"
    assert [step["node_id"] for step in invoked["trace"]] == ["input_1", "llm_1", "output_1"]
    assert out.count("event: done") == 2
    assert '"output":"Hello"' in out and '"output":"Hi there"' in out

    # and pointing a provider at an OpenAI-compatible server moves the same agent onto it
    provider_block = provider_block.replace("http://localhost:11434", fake_llm.url)
    answers = [json.loads(line) for line in run(provider_block).splitlines() if line.strip()]
    assert answers[0]["data"]["name"] == "ollama" and answers[1]["data"]["config"]["model"]["provider"] == "ollama"
    again = json.loads(run(run_block.split("\n# 2.")[0]).splitlines()[0])["data"]
    assert again["output"] == "echo: Where is my order?"
    assert fake_llm.requests[-1].body["model"] == "llama3.2"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_deploy_lines_work(live_server, make_user):
    # given a user with a token
    _token, raw = token_create(user=make_user("deployer"), name="t",
                               scopes=["agents:read", "agents:write", "agents:run"])
    (block,) = _section_blocks("## Deploying changes safely")
    script = re.sub(r"^TOKEN=.*$", "", block.replace("http://127.0.0.1:8000", live_server.url), flags=re.M)

    # when the lines run one after another
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("curl -s ", "curl -s -w '\\n' ")],
                            env={"TOKEN": raw, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)

    # then each answers as the README says
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line)["data"] for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == 10
    assert answers[1]["index"] == 1 and answers[2]["deployed_version"] == 1
    assert answers[4]["output"] == "Hello, Ada" and answers[4]["version"] == 1
    assert answers[5]["output"] == "Welcome, Ada" and answers[5]["version"] is None
    assert list(answers[6]["changes"]) == ["pipeline.nodes"]
    assert answers[7]["deployed_version"] == 2 and answers[7]["redeployed"] is True
    assert answers[8]["pipeline"]["nodes"][1]["data"]["mapping"] == "Hello, {{input.message}}"
    assert answers[9]["deployed_version"] == 3
    agent = Agent.objects.get(slug="greeter")
    assert agent.versions.get(index=3).content_hash == agent.versions.get(index=1).content_hash


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_automation_lines_work(live_server, make_user, tmp_path):
    from agents.models import Memory
    from executions.models import Execution

    # given the state the deploy walkthrough leaves: greeter running
    _token, raw = token_create(user=make_user("automator"), name="t",
                               scopes=["agents:read", "agents:write", "agents:run"])
    env = {"TOKEN": raw, "PATH": "/usr/bin:/bin"}

    def run(block):
        script = re.sub(r"^TOKEN=.*$", "", block.replace("http://127.0.0.1:8000", live_server.url), flags=re.M)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("curl -s ", "curl -s -w '\\n' ")],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["data"] for line in result.stdout.splitlines() if line.strip()]

    run(_section_blocks("## Deploying changes safely")[0])

    # when the automation lines run
    answers = run(_section_blocks("## Schedules, webhooks, export and templates")[0])

    # then each did what the README says
    schedule, hooked, settings, imported, templates, helpdesk, wizard = answers
    assert schedule["name"] == "morning" and len(schedule["next_runs"]) == 5
    assert hooked["status"] == "queued"
    assert Execution.objects.get(pk=hooked["exec_id"]).trigger == "webhook"
    assert settings["llm_temperature"] == 0.2
    assert (tmp_path / "greeter.yaml").read_text().startswith("format: agentry.agent")
    assert imported["skipped"] == ["greeter"] and imported["created"] == []
    assert [t["id"] for t in templates] == ["support-triage"]
    assert helpdesk["slug"] == "helpdesk" and helpdesk["pipeline"]["nodes"]
    assert wizard["seed_counts"] == {"memory": 0, "rules": 1, "skills": 0, "tasks": 1}
    iris = Agent.objects.get(pk=wizard["workflow_id"])
    assert iris.config["tools"][0]["type"] == "http_request" and iris.schedules.count() == 1
    assert Memory.objects.get(agent=iris).kind == "rule"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_knowledge_lines_work(live_server, celery_worker, make_user, tmp_path, settings):
    # given greeter, and a worker that reads the files the server stores
    settings.STORAGES = {**settings.STORAGES, "knowledge": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "knowledge")}}}
    _token, raw = token_create(user=make_user("librarian"), name="t",
                               scopes=["agents:read", "agents:write", "agents:run"])
    env = {"TOKEN": raw, "PATH": "/usr/bin:/bin"}
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()

    def run(block):
        script = re.sub(r"^TOKEN=.*$", "", block.replace("http://127.0.0.1:8000", live_server.url), flags=re.M)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("curl -s ", "curl -s -w '\\n' ")],
                                env=env, cwd=run_dir, capture_output=True, text=True, timeout=90)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["data"] for line in result.stdout.splitlines() if line.strip()]

    run(_section_blocks("## Deploying changes safely")[0])

    # when the knowledge lines run
    uploaded, listed, found = run(_section_blocks("## Knowledge base")[0])

    # then the document was ingested by the worker and is found
    assert uploaded["status"] == "processing" and uploaded["document_id"] == "returns"
    assert listed[0]["status"] == "ready" and listed[0]["kind"] == "md" and listed[0]["tags"] == ["policy"]
    assert found["mode"] == "full_text" and found["results"][0]["document_id"] == "returns"
    assert "five working days" in found["results"][0]["text"]
def test_readme_chat_lines_work(transactional_db, asgi_server, settings):
    from agents.demo import seed_demo
    from agents.models import Memory

    # given make run's state, served by a real ASGI server
    _user, raw = seed_demo(password="demo-password")
    curl_block, socket_block = _section_blocks("## Chat with an agent")
    script = re.sub(r"^TOKEN=.*$", "", curl_block.replace("http://127.0.0.1:8000", asgi_server.url), flags=re.M)

    # when the curl lines run
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("curl -s ", "curl -s -w '\\n' ")],
                            env={"TOKEN": raw, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)

    # then the agent started, the turn streamed, resumed, the command was answered
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("data: [DONE]") == 3
    assert '"event":"thread.message.delta","data":{"delta":{"content":"Hello' in out
    assert '"event":"thread.run.completed"' in out
    assert Memory.objects.get().content == "We open at 9."
    messages = json.loads(out.strip().splitlines()[-1])["data"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["content"] == "Hello there" and messages[1]["ttft_ms"] is not None

    # and the WebSocket line chats too
    thread_id = messages[0]["thread_id"]
    command = socket_block.splitlines()[0].replace("ws://127.0.0.1:8000", asgi_server.ws_url)
    command = command.replace("$THREAD", thread_id).replace("$TOKEN", raw).replace('"', "")
    argv = [sys.executable, *command.split()[1:]]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as client:
        client.stdin.write('{"type": "message", "content": "Hi from a socket"}\n')
        client.stdin.flush()
        seen = []
        for line in client.stdout:
            seen.append(line)
            if "thread.run.completed" in line:
                break
        client.stdin.close()
        client.wait(10)
    assert any('"content": "Hi from a socket"' in line for line in seen), seen


def test_first_section_shows_the_console_its_login_and_two_screenshots():
    # the first section: everything before the API walkthrough
    first = README.read_text().split("## The API in five lines", 1)[0]
    assert "<http://127.0.0.1:8000/>" in first
    assert "**`demo`** / **`demo-password`**" in first
    images = re.findall(r"!\[[^\]]+\]\((docs/screenshot-[\w-]+\.png)\)", first)
    assert len(images) == 2
    for image in images:
        path = README.parent / image
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image


@pytest.mark.django_db
def test_the_login_the_readme_shows_is_the_one_seed_demo_makes(client):
    call_command("seed_demo", stdout=io.StringIO())
    first = README.read_text().split("## The API in five lines", 1)[0]
    username, password = re.search(r"\*\*`(\w+)`\*\* / \*\*`([\w-]+)`\*\*", first).groups()
    assert client.login(username=username, password=password)
    assert client.get("/").status_code == 200 and client.get("/admin/agents/agent/").status_code == 200
