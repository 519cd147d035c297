"""The Kubernetes manifests, proven without a cluster (none can run here):
each overlay renders with `kubectl kustomize`, kubernetes-validate --strict
accepts every built-in object against the API's schemas, checkov's
Kubernetes policies pass (each skip justified beside it in the manifests),
and the rendered objects say what the README promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy/kubernetes"
TOOLS = ROOT / ".venv-k8s/bin"
# Custom resources (cert-manager, CloudNativePG, the Prometheus Operator):
# kubernetes-validate has no schema for them; their operators validate them
# when applied (and promtool checks the PrometheusRule's rules below).
CUSTOM_KINDS = {"ClusterIssuer", "Cluster", "PrometheusRule", "PodMonitor"}
VARIANTS = {
    "development": "overlays/development",
    "production": "overlays/production",
    "production+cloudnative-pg": "with-cloudnative-pg",
    "production+monitoring": "with-monitoring",
}


def tool(name: str) -> str:
    path = TOOLS / name if (TOOLS / name).exists() else shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (make test installs it in .venv-k8s)")
    return str(path)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """deploy/kubernetes with the uncommitted secret files an operator writes."""
    copy = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    for overlay in ("development", "production"):
        (copy / "overlays" / overlay / "secret-key").write_text("k" * 48)
        (copy / "overlays" / overlay / "database-url").write_text(
            "postgresql://bulletin:secret@db.example.com:5432/bulletin"
        )
    for component in ("cloudnative-pg", "monitoring"):
        variant = copy / f"with-{component}"
        variant.mkdir()
        (variant / "kustomization.yaml").write_text(
            f"resources: [../overlays/production]\ncomponents: [../components/{component}]\n"
        )
    return copy


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request, sources) -> tuple[str, Path, list[dict]]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed (it renders the kustomizations)")
    result = subprocess.run(
        [kubectl, "kustomize", str(sources / VARIANTS[request.param])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    path = sources / f"{request.param}.yaml"
    path.write_text(result.stdout)
    return request.param, path, [d for d in yaml.safe_load_all(result.stdout) if d]


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def test_every_built_in_object_validates_strictly(rendered, tmp_path):
    _, _, objects = rendered
    built_in = tmp_path / "built-in.yaml"
    built_in.write_text(yaml.safe_dump_all([o for o in objects if o["kind"] not in CUSTOM_KINDS]))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", str(built_in)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_kubernetes_policies_pass(rendered):
    _, path, _ = rendered
    result = subprocess.run(
        [tool("checkov"), "--file", str(path), "--framework", "kubernetes", "--compact",
         "--quiet", "--skip-download"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]


def test_web_pods_are_probed_locked_down_and_sized(rendered):
    variant, _, objects = rendered
    (web,) = find(objects, "Deployment", "bulletin-web")
    pod = web["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for each in (container, *pod["initContainers"]):
        security = each["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert each["resources"]["requests"]["cpu"]
        assert each["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert pod["automountServiceAccountToken"] is False
    assert pod["topologySpreadConstraints"]
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    # Migrations once, before the app: the init container, under the advisory lock.
    (migrate,) = pod["initContainers"]
    assert migrate["command"][-3:] == ["prepare-database", "--wait", "120"]
    settings = find(objects, "ConfigMap")[0]["data"]
    assert settings["MIGRATE_ON_START"] == "0"
    assert settings["FLASK_CONFIG"] == "production"
    # Secrets as files, from the Secret (or the operator's, with CloudNativePG).
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["SECRET_KEY_FILE"].startswith("/run/secrets/")
    if variant.endswith("cloudnative-pg"):
        assert env["DATABASE_URL_FILE"] == "/run/secrets/database/uri"
    secrets = find(objects, "Secret")
    assert secrets
    assert set(secrets[0]["data"]) == {"secret-key", "database-url"}


def test_the_worker_runs_the_same_image_locked_down_and_migrated_first(rendered):
    variant, _, objects = rendered
    (web,) = find(objects, "Deployment", "bulletin-web")
    (worker,) = find(objects, "Deployment", "bulletin-worker")
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (web_container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["image"] == web_container["image"]
    assert container["args"] == ["flask", "jobs", "worker"]
    assert container["livenessProbe"]["exec"]["command"] == ["flask", "jobs", "health"]
    (migrate,) = pod["initContainers"]
    assert migrate["command"][-3:] == ["prepare-database", "--wait", "120"]
    for each in (container, migrate):
        assert each["securityContext"]["readOnlyRootFilesystem"] is True
        assert each["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert each["env"] == web_container["env"]  # the same secrets, the same database
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] >= 60
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert find(objects, "ConfigMap")[0]["data"]["JOB_QUEUE"] == "database"
    if variant.endswith("cloudnative-pg"):
        assert migrate["env"][1]["value"] == "/run/secrets/database/uri"


def test_disruption_budget_autoscaler_and_the_ingress(rendered):
    variant, _, objects = rendered
    (budget,) = find(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    (scaler,) = find(objects, "HorizontalPodAutoscaler")
    assert scaler["spec"]["scaleTargetRef"]["name"] == "bulletin-web"
    (ingress,) = find(objects, "Ingress")
    issuer = ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    assert issuer == (
        "letsencrypt-staging" if variant == "development" else "letsencrypt-production"
    )
    assert {o["metadata"]["name"] for o in find(objects, "ClusterIssuer")} == {
        "letsencrypt-staging",
        "letsencrypt-production",
    }
    host = ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"]["tls"][0]["hosts"] == [host]


def test_only_the_ingress_reaches_web_and_only_web_and_the_worker_the_data(rendered):
    variant, _, objects = rendered
    policies = {p["metadata"]["name"]: p["spec"] for p in find(objects, "NetworkPolicy")}
    deny = policies["default-deny-ingress"]
    assert deny["podSelector"] == {}
    assert "ingress" not in deny
    web = policies["bulletin-web-from-ingress"]["ingress"][0]["from"]
    assert web == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    redis = policies["redis-from-web"]["ingress"][0]["from"]
    assert redis == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bulletin-web"}}}]
    if variant.endswith("cloudnative-pg"):
        database = policies["database-from-web"]["ingress"][0]
        worker = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bulletin-worker"}}}
        assert database["from"] == [*redis, worker]
        assert database["ports"] == [{"port": 5432}]
        assert find(objects, "Cluster", "bulletin-db")


def test_the_prometheus_rule_is_monitoring_alerts_and_promtool_accepts_it(rendered, tmp_path):
    variant, _, objects = rendered
    if not variant.endswith("monitoring"):
        assert not find(objects, "PrometheusRule")
        return
    (rule,) = find(objects, "PrometheusRule", "bulletin")
    alerts = yaml.safe_load((ROOT / "monitoring/alerts.yml").read_text())
    assert rule["spec"] == alerts, (
        "prometheus-rule.yaml is older than monitoring/alerts.yml: run make monitoring-rules"
    )
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (Debian's prometheus package has it)")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (monitor,) = find(objects, "PodMonitor", "bulletin-web")
    (web,) = find(objects, "Deployment", "bulletin-web")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        web["spec"]["template"]["metadata"]["labels"].items()
    )
    ports = {p["name"] for c in web["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports
    policies = {p["metadata"]["name"]: p["spec"] for p in find(objects, "NetworkPolicy")}
    assert policies["bulletin-web-from-prometheus"]["ingress"][0]["ports"] == [{"port": 8000}]
