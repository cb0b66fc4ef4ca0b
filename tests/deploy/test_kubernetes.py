"""deploy/kubernetes: schema-valid manifests that agree with Kefu's settings, routes and commands."""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from kefu.settings import InsecureSettingsError
from tests.deploy.facts import (
    KEFU_UID,
    KUBERNETES,
    PLACEHOLDER,
    load_manifests,
    parse_command,
    path_of,
    routed,
    secret_setting_names,
    setting_names,
    settings_from,
)

# The oldest supported and the newest schema the validator bundles (nothing is fetched).
KUBERNETES_VERSIONS = ["1.31.0", kubernetes_validate.utils.latest_version()]
MANIFESTS = load_manifests()
WORKLOAD_KINDS = {"Deployment", "Job"}


def objects(kind: str) -> list[dict[str, Any]]:
    return [doc for _name, doc in MANIFESTS if doc["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in objects(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return dict(found[0])


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [(doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in objects("Deployment")] + [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in objects("Job")
    ]


def kefu_container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod["containers"] if c["name"] == "kefu"]
    return dict(container)


def config_data() -> dict[str, str]:
    return dict(named("ConfigMap", "kefu-config")["data"])


def secret_data() -> dict[str, str]:
    return dict(named("Secret", "kefu-secrets")["stringData"])


def test_every_manifest_is_found() -> None:
    kinds = {doc["kind"] for _name, doc in MANIFESTS}
    assert {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "NetworkPolicy",
        "Kustomization",
    } <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(
    ("file", "document"),
    [(name, doc) for name, doc in MANIFESTS if doc["kind"] != "Kustomization"],
    ids=lambda value: value if isinstance(value, str) else f"{value['kind']}/{value['metadata']['name']}",
)
def test_manifest_matches_the_kubernetes_schema(file: str, document: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_an_unknown_field() -> None:
    # strict=True is what makes a typo in a field name fail, not just a wrong type.
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSIONS[0], strict=True)


def test_manifests_are_namespace_agnostic() -> None:
    for _name, doc in MANIFESTS:
        assert "namespace" not in doc.get("metadata", {}), doc["metadata"]["name"]


def test_kustomization_lists_every_file_but_the_secret_and_the_job() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    expected = {
        path.name
        for path in KUBERNETES.glob("*.yaml")
        if path.name not in {"kustomization.yaml", "secret.example.yaml", "migrate-job.yaml"}
    }
    assert set(kustomization["resources"]) == expected


def test_configmap_and_secret_hold_only_real_settings() -> None:
    names = set(config_data()) | set(secret_data())
    assert names - setting_names() == set()


def test_no_secret_setting_sits_in_the_configmap() -> None:
    assert set(config_data()) & secret_setting_names() == set()
    # Connection URLs carry passwords: they belong in the Secret too.
    assert not {name for name in config_data() if name.endswith(("DATABASE_URL", "REDIS_URL"))}


def test_secret_example_holds_no_real_secret() -> None:
    for name, value in secret_data().items():
        assert PLACEHOLDER in value, f"{name} must be a placeholder"
    # What production refuses to start without.
    assert {"KEFU_SECRET_KEY", "KEFU_DOCUMENT_KEYS", "KEFU_DATABASE_URL", "KEFU_REDIS_URL"} <= set(
        secret_data()
    )


def test_configmap_with_the_placeholders_is_refused_in_production() -> None:
    settings = settings_from(config_data() | secret_data())
    assert settings.env == "production"
    with pytest.raises(InsecureSettingsError):
        settings.check_production_ready()


def test_configmap_with_real_values_starts_in_production() -> None:
    filled = {name: value.replace(PLACEHOLDER, "x" * 40) for name, value in secret_data().items()}
    settings = settings_from(config_data() | filled)
    settings.check_production_ready()
    # The layout the manifests describe: no worker or SMTP listener in the web nodes, S3, Redis.
    assert settings.run_worker_in_serve is False
    assert settings.smtp_listen == ""
    assert settings.blob_backend == "s3"
    assert settings.redis_url.startswith("redis://")
    assert settings.reports_database_url.startswith("postgresql+asyncpg://")


def test_every_pod_runs_as_the_image_user_and_cannot_escalate() -> None:
    for name, pod in pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == KEFU_UID, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        container = kefu_container(pod)["securityContext"]
        assert container["allowPrivilegeEscalation"] is False, name
        assert container["readOnlyRootFilesystem"] is True, name
        assert container["capabilities"]["drop"] == ["ALL"], name
        assert "add" not in container["capabilities"], name


def test_every_container_has_resources_and_a_writable_tmp() -> None:
    for name, pod in pod_specs():
        container = kefu_container(pod)
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), name
        assert "memory" in resources["limits"], name
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert "/tmp" in mounts, name  # a read-only root file system: uploads spool to /tmp


def test_every_container_reads_the_config_and_the_secret() -> None:
    for name, pod in pod_specs():
        sources = kefu_container(pod)["envFrom"]
        assert {"configMapRef": {"name": "kefu-config"}} in sources, name
        assert {"secretRef": {"name": "kefu-secrets"}} in sources, name


@pytest.mark.parametrize(
    ("workload", "command"),
    [("kefu-serve", "serve"), ("kefu-worker", "worker"), ("kefu-smtp", "smtp"), ("kefu-migrate", "migrate")],
)
def test_container_arguments_are_a_real_kefu_command(workload: str, command: str) -> None:
    kind = "Job" if workload == "kefu-migrate" else "Deployment"
    args = kefu_container(named(kind, workload)["spec"]["template"]["spec"])["args"]
    assert args[0] == command
    parse_command(args)


def test_serve_runs_no_worker_and_listens_on_its_container_port() -> None:
    pod = named("Deployment", "kefu-serve")["spec"]["template"]["spec"]
    container = kefu_container(pod)
    params = parse_command(container["args"])
    assert params["worker"] is False
    assert params["host"] == "0.0.0.0"  # noqa: S104 - inside the pod
    assert [port["containerPort"] for port in container["ports"]] == [params["port"]]


def test_smtp_listens_on_its_container_port() -> None:
    container = kefu_container(named("Deployment", "kefu-smtp")["spec"]["template"]["spec"])
    params = parse_command(container["args"])
    assert [port["containerPort"] for port in container["ports"]] == [params["port"]]
    assert params["host"] == "0.0.0.0"  # noqa: S104 - inside the pod


def test_serve_probes_hit_the_health_endpoints() -> None:
    container = kefu_container(named("Deployment", "kefu-serve")["spec"]["template"]["spec"])
    port_names = {port["name"] for port in container["ports"]}
    probes = {
        kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert probes["readinessProbe"]["path"] == path_of("readyz")
    assert probes["livenessProbe"]["path"] == path_of("healthz")
    assert probes["startupProbe"]["path"] == path_of("healthz")
    assert all(probe["port"] in port_names for probe in probes.values())


def test_route_lookups_are_checked_for_real() -> None:
    assert routed(path_of("readyz"))
    assert not routed("/no-such-socket/ws", "websocket")


def pod_labels(kind: str, name: str) -> dict[str, str]:
    return dict(named(kind, name)["spec"]["template"]["metadata"]["labels"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_services_select_their_pods_and_named_ports() -> None:
    for service_name, workload in (("kefu-serve", "kefu-serve"), ("kefu-smtp", "kefu-smtp")):
        service = named("Service", service_name)
        assert service["spec"].get("sessionAffinity", "None") == "None"
        assert selects(service["spec"]["selector"], pod_labels("Deployment", workload))
        other = [d["metadata"]["name"] for d in objects("Deployment") if d["metadata"]["name"] != workload]
        assert not any(selects(service["spec"]["selector"], pod_labels("Deployment", o)) for o in other)
        container = kefu_container(named("Deployment", workload)["spec"]["template"]["spec"])
        port_names = {port["name"] for port in container["ports"]}
        assert all(port["targetPort"] in port_names for port in service["spec"]["ports"])


def test_smtp_service_keeps_the_senders_address() -> None:
    # SPF is checked against the SMTP peer: SNAT would make every sender the node's address.
    assert named("Service", "kefu-smtp")["spec"]["externalTrafficPolicy"] == "Local"


def test_ingress_routes_to_the_web_service_without_affinity() -> None:
    ingress = named("Ingress", "kefu")
    annotations = ingress["metadata"]["annotations"]
    assert not [key for key in annotations if "affinity" in key or "upstream-hash-by" in key]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    service = named("Service", "kefu-serve")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "kefu-serve"
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}


def test_ingress_body_size_admits_kefus_largest_body() -> None:
    from tests.deploy.facts import body_limit

    size = named("Ingress", "kefu")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert size.endswith("m")
    assert int(size[:-1]) * 1024 * 1024 >= body_limit()


def test_autoscalers_and_budgets_target_existing_workloads() -> None:
    deployments = {d["metadata"]["name"] for d in objects("Deployment")}
    for hpa in objects("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert target["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 1
    covered = set()
    for budget in objects("PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [name for name in deployments if selects(selector, pod_labels("Deployment", name))]
        assert len(matched) == 1, budget["metadata"]["name"]
        covered.update(matched)
    assert covered == deployments


def test_rollouts_keep_serving() -> None:
    serve = named("Deployment", "kefu-serve")
    assert serve["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert named("HorizontalPodAutoscaler", "kefu-serve")["spec"]["minReplicas"] >= 2


def test_migration_job_runs_once_and_never_restarts_in_place() -> None:
    job = named("Job", "kefu-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 1
