"""Reads `infra/template.yaml`: CloudFormation YAML tags, intrinsic functions, the functions and their events.

Only what the template uses is supported; anything else fails loudly instead of being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "template.yaml"


class Tag:
    """A CloudFormation short-form tag (`!Ref X`) kept as data until resolution."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"!{self.name} {self.value!r}"


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_Loader.add_multi_constructor("!", _construct)  # type: ignore[no-untyped-call]


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_Loader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a SAM template")
    return data


class Resolver:
    """Resolves !Ref, !GetAtt, !Sub, !Join and their long forms against provisioned values."""

    def __init__(self, params: dict[str, Any], refs: dict[str, Any], attrs: dict[tuple[str, str], Any]) -> None:
        self.params = params
        self.refs = refs
        self.attrs = attrs

    def ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"!Ref {name}: not provisioned (yet)")

    def getatt(self, target: str | list[str]) -> Any:
        resource, attribute = target.split(".", 1) if isinstance(target, str) else target
        key = (resource, attribute)
        if key not in self.attrs:
            raise KeyError(f"!GetAtt {resource}.{attribute}: not provisioned (yet)")
        return self.attrs[key]

    def sub(self, value: str | list[Any]) -> str:
        if isinstance(value, list):
            template, extra = value[0], {k: self.resolve(v) for k, v in value[1].items()}
        else:
            template, extra = value, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                return str(self.getatt(name))
            return str(self.ref(name))

        return re.sub(r"\$\{([A-Za-z0-9:._]+)\}", replace, template)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Tag):
            return self._tag(value.name, value.value)
        if isinstance(value, dict):
            if len(value) == 1:
                (key, inner), = value.items()
                if key == "Ref":
                    return self._tag("Ref", inner)
                if key.startswith("Fn::"):
                    return self._tag(key[4:], inner)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _tag(self, name: str, value: Any) -> Any:
        if name == "Ref":
            return self.ref(value)
        if name == "GetAtt":
            return self.getatt(value)
        if name == "Sub":
            return self.sub(value)
        if name == "Join":
            separator, items = value
            return separator.join(str(self.resolve(item)) for item in self.resolve(items))
        raise ValueError(f"intrinsic function {name} is not supported by the local runner")


@dataclass
class FunctionSpec:
    """One AWS::Serverless::Function as the runner needs it."""

    logical_id: str
    handler: str  # "module.function", as Lambda imports it
    timeout: int
    memory: int
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    package_type: str = "Zip"
    code_dirs: list[Path] = field(default_factory=list)  # what Lambda would have in /var/task and /opt/python
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: the most environments at once

    @property
    def serves_http(self) -> bool:
        """An HTTP API route invokes it (else only queues, streams and schedules do)."""
        return any(event.get("Type") == "HttpApi" for event in self.events.values())


def _code_dirs(template: dict[str, Any], resource: dict[str, Any], base: Path) -> list[Path]:
    props = resource.get("Properties", {})
    if props.get("PackageType") == "Image":
        meta = resource.get("Metadata", {})
        context = base / meta.get("DockerContext", ".")
        dirs = [(context / meta.get("Dockerfile", "Dockerfile")).parent]
    else:
        dirs = [base / props.get("CodeUri", ".")]
    for layer in props.get("Layers", []) or []:
        name = layer.value if isinstance(layer, Tag) and layer.name == "Ref" else None
        content = template["Resources"].get(name, {}).get("Properties", {}).get("ContentUri") if name else None
        if content:
            dirs.append(base / content)
    return [d.resolve() for d in dirs]


def functions(template: dict[str, Any], base: Path = TEMPLATE_PATH.parent) -> list[FunctionSpec]:
    globals_fn = template.get("Globals", {}).get("Function", {})
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        package_type = props.get("PackageType", "Zip")
        handler = props["ImageConfig"]["Command"][0] if package_type == "Image" else props["Handler"]
        environment = dict(globals_fn.get("Environment", {}).get("Variables", {}))
        environment.update(props.get("Environment", {}).get("Variables", {}))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                handler=handler,
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                environment=environment,
                events=props.get("Events", {}) or {},
                package_type=package_type,
                code_dirs=_code_dirs(template, resource, base),
                reserved_concurrency=_int_or_none(props.get("ReservedConcurrentExecutions")),
            )
        )
    return specs


def _int_or_none(value: Any) -> int | None:
    """A literal number; anything else (absent, or an intrinsic the runner does not resolve here) is no limit."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
