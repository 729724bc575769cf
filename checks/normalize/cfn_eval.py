"""CloudFormation's intrinsic functions, evaluated as far as a template alone says.

A template's values are resolved where CloudFormation would resolve them before it creates
anything: `Ref` to a parameter gives its `Default`; `Fn::Sub` (both forms), `Fn::Join`,
`Fn::Select`, `Fn::Split` and `Fn::FindInMap` compute; `Fn::If` takes the branch its condition
decides (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition` over known values), and
`AWS::NoValue` removes the property. What only exists once the stack does (pseudo parameters,
a resource's `Ref` or `Fn::GetAtt`, `Fn::ImportValue`, a parameter without a default) is
`Unknown`, written as `${Name}` or `${Resource.Attribute}` inside the strings that hold it,
as Terraform's unknowns are: a trust policy's `arn:${AWS::Partition}:iam::${AWS::AccountId}:root`
is still an account root, a key `${Provider}:sub` still a subject condition. An unknown that
refers to a resource of the template carries its logical id (`Unknown.ref`).

Resolved mappings and lists keep the lines of the template's (`LDict`, `LList`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from checks.model import LDict, LList, Unknown

# the pseudo parameters: all known only when the stack is created, in an account and a region
PSEUDO = {
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
}
NO_VALUE = "AWS::NoValue"
# what a template's evaluation may visit, in values: references into mappings and other
# resources' properties repeat work, and hostile input may repeat a lot
MAX_STEPS = 2_000_000
# what a computed string may grow to, and how many characters cost as much as one value
MAX_CHARS = 1_000_000
CHARS_PER_STEP = 100
# what `Ref` to a resource gives when the template writes it: its name, in this property
NAME_PROPERTY: dict[str, tuple[str, ...]] = {
    "AWS::EKS::Cluster": ("Name",),
    "Custom::AWSCDK-EKS-Cluster": ("Config", "name"),  # CDK's aws-eks v1 cluster
    "AWSQS::EKS::Cluster": ("Name",),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::User": ("UserName",),
}
# clusters (their `OpenIdConnectIssuerUrl`) and OIDC providers (`Ref` gives the ARN)
CLUSTER_TYPES = ("AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster")
PROVIDER_TYPES = ("AWS::IAM::OIDCProvider", "Custom::AWSCDKOpenIdConnectProvider")
# the resources whose `Arn` is an IAM ARN of this kind
_IAM_ARNS = {"AWS::IAM::Role": "role", "AWS::IAM::User": "user"}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# what an unknown's name may hold inside `${...}` (logical ids, attributes, pseudo parameters)
_NAME_CHARS = re.compile(r"[^A-Za-z0-9:._-]")


class _Removed:
    """`Ref: AWS::NoValue`: the property it is given to is not there."""

    def __repr__(self) -> str:
        return "NoValue"


REMOVED = _Removed()


class Budget(Exception):
    """The template's evaluation budget is spent."""


def placeholder(name: str) -> str:
    """How an unknown is written inside a string: `${Name}`."""
    return "${" + _NAME_CHARS.sub("_", name)[:200] + "}"


class Template:
    """One template's parameters, conditions, mappings and resources, and the evaluation of
    its values."""

    def __init__(self, doc: dict) -> None:
        self.parameters = _mapping(doc.get("Parameters"))
        self.conditions = _mapping(doc.get("Conditions"))
        self.mappings = _mapping(doc.get("Mappings"))
        self.resources = _mapping(doc.get("Resources"))
        self.steps = MAX_STEPS
        self.spent = False
        self._deciding: set[str] = set()
        self._decided: dict[str, Any] = {}
        self._resolving: set[tuple[str, str]] = set()
        self._names: dict[str, Any] = {}  # what `Ref` to a resource gives

    # ---- values ---------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """`node` with every intrinsic function resolved (Unknown where it cannot be);
        REMOVED for `AWS::NoValue`. A budget spent makes what is left unknown."""
        try:
            return self._value(node, 0)
        except Budget:
            self.spent = True
            return Unknown("the template's evaluation budget is spent", "${...}")
        except RecursionError:
            return Unknown("values nested too deeply", "${...}")

    def _step(self, cost: int = 1) -> None:
        self.steps -= cost
        if self.steps < 0:
            raise Budget

    def _text(self, pieces: list[str], unknowns: list[Unknown]) -> Any:
        """A computed string, its length paid for (a step per CHARS_PER_STEP characters):
        many large strings end the evaluation as many values would."""
        self._step(sum(len(p) for p in pieces) // CHARS_PER_STEP)
        return _string(pieces, unknowns)

    def _value(self, node: Any, depth: int) -> Any:
        self._step()
        if isinstance(node, dict):
            function = _function(node)
            if function is not None:
                return self._call(function, node[function], depth + 1)
            out = LDict(line=getattr(node, "line", 0), end_line=getattr(node, "end_line", 0))
            spans = getattr(node, "key_lines", {})
            for key, item in node.items():
                value = self._value(item, depth + 1)
                if value is REMOVED:
                    continue
                out[key] = value
                if key in spans:
                    out.key_lines[key] = spans[key]
            return out
        if isinstance(node, list):
            out_list = LList(line=getattr(node, "line", 0), end_line=getattr(node, "end_line", 0))
            spans = getattr(node, "item_lines", [])
            for index, item in enumerate(node):
                value = self._value(item, depth + 1)
                if value is REMOVED:
                    continue
                out_list.append(value)
                if index < len(spans):
                    out_list.item_lines.append(spans[index])
            return out_list
        return node

    def _call(self, function: str, args: Any, depth: int) -> Any:
        if function == "Ref":
            return self.ref(args)
        if function == "Fn::GetAtt":
            return self.get_att(args, depth)
        if function == "Fn::Sub":
            return self._sub(args, depth)
        if function == "Fn::Join":
            return self._join(args, depth)
        if function == "Fn::Select":
            return self._select(args, depth)
        if function == "Fn::Split":
            return self._split(args, depth)
        if function == "Fn::If":
            return self._if(args, depth)
        if function == "Fn::FindInMap":
            return self._find_in_map(args, depth)
        if function in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"):
            return self.decide({function: args})
        words = function.split("::")[-1]
        return Unknown(f"{function} is known only when the stack is created", placeholder(words))

    def ref(self, name: Any) -> Any:
        """What `Ref: name` gives."""
        if not isinstance(name, str):
            return Unknown("Ref to something that is not a name", placeholder("Ref"))
        if name == NO_VALUE:
            return REMOVED
        if name in PSEUDO:
            return Unknown(f"{name} is known only when the stack is created", placeholder(name))
        if name in self.parameters:
            return self._parameter(name)
        if name in self.resources:
            known = self._name_of(name)
            if isinstance(known, str):
                return known
            text = self._provider_arn(name) or placeholder(name)
            return Unknown(f"Ref {name} is known only when the stack is created", text, name)
        return Unknown(f"Ref {name} names nothing in the template", placeholder(name))

    def _name_of(self, logical: str) -> Any:
        """The name a resource's properties give it (what `Ref` to a cluster or a role
        gives), else None."""
        if logical in self._names:
            return self._names[logical]
        self._names[logical] = None  # a name that refers to itself is not known
        declared = self.resources[logical]
        path = NAME_PROPERTY.get(str(declared.get("Type"))) if isinstance(declared, dict) else None
        node: Any = self._properties(declared.get("Properties")) if path else None
        for step in path or ():
            node = node.get(step) if isinstance(node, dict) else None
        name = self._value(node, 0) if node is not None else None
        self._names[logical] = name if isinstance(name, str) else None
        return self._names[logical]

    def _parameter(self, name: str) -> Any:
        declared = self.parameters[name]
        if not isinstance(declared, dict) or "Default" not in declared:
            return Unknown(f"parameter {name} has no default", placeholder(name))
        default = declared["Default"]
        kind = str(declared.get("Type", "String"))
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            # the default names an SSM parameter: its value is read when the stack is created
            return Unknown(f"parameter {name} is read from SSM {default}", placeholder(name))
        if isinstance(default, bool):
            default = "true" if default else "false"
        if isinstance(default, (int, float)):
            default = str(default)
        if not isinstance(default, str):
            return Unknown(
                f"parameter {name} has a default that is not a string", placeholder(name)
            )
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            return [item.strip() for item in default.split(",")]  # "" is [""]
        return default

    def get_att(self, args: Any, depth: int = 0) -> Any:
        """What `Fn::GetAtt` gives: unknown, with the resource's logical id; the `Value` of
        CDK's `Custom::AWSCDKCfnJson` is the JSON its own `Value` property writes."""
        if isinstance(args, str) and "." in args:
            resource, attribute = args.split(".", 1)
        elif isinstance(args, list) and len(args) == 2:
            resource, attribute = args
            attribute = self._value(attribute, depth)
        else:
            return Unknown("Fn::GetAtt written wrongly", placeholder("GetAtt"))
        if not isinstance(resource, str) or not isinstance(attribute, str):
            return Unknown("Fn::GetAtt of a name not known", placeholder("GetAtt"))
        text = placeholder(f"{resource}.{attribute}")
        declared = self.resources.get(resource)
        if (
            isinstance(declared, dict)
            and declared.get("Type") == "Custom::AWSCDKCfnJson"
            and attribute == "Value"
            and (resource, attribute) not in self._resolving
        ):
            self._resolving.add((resource, attribute))
            try:
                parsed = self._json_of(_mapping(declared.get("Properties")).get("Value"), depth)
            finally:
                self._resolving.discard((resource, attribute))
            if parsed is not None:
                return parsed
        known = resource in self.resources
        rtype = str(declared.get("Type")) if isinstance(declared, dict) else ""
        kind = _IAM_ARNS.get(rtype)
        if kind is not None and attribute == "Arn":
            text = self._iam_arn(resource, declared, kind)
        elif rtype in CLUSTER_TYPES and attribute == "OpenIdConnectIssuerUrl":
            # EKS issuers are all of this form: the region and the cluster's id are not known
            text = "https://oidc.eks.${AWS::Region}.amazonaws.com/id/" + placeholder(
                f"{resource}.OidcId"
            )
        return Unknown(
            f"{resource}.{attribute} is known only when the stack is created",
            text,
            resource if known else None,
        )

    def _provider_arn(self, logical: str) -> str | None:
        """What `Ref` to an OIDC provider gives, its ARN, as far as its `Url` says
        (`arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/<issuer without https://>`),
        so that the issuer is known by its host; None for other resources."""
        declared = self.resources[logical]
        if not isinstance(declared, dict) or declared.get("Type") not in PROVIDER_TYPES:
            return None
        props = self._properties(declared.get("Properties"))
        url = self._value(props.get("Url"), 0) if isinstance(props, dict) else None
        url = url.text if isinstance(url, Unknown) else url
        if not isinstance(url, str):
            return None
        issuer = url.split("://", 1)[-1]
        return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{issuer}"

    def _iam_arn(self, logical: str, declared: dict, kind: str) -> str:
        """A role's or user's ARN as far as the template says: its path and name when written
        (`arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ops/admin`), so that it reads as a
        role or a user, never as an account. A `Path` not known reads `/${<logical>.Path}/`,
        never AWS's default `/`: that would make the ARN look known."""
        name = self._name_of(logical)
        props = self._properties(declared.get("Properties"))
        path = self._value(props.get("Path"), 0) if isinstance(props, dict) else None
        if path is None or path is REMOVED:
            path = "/"
        elif not (isinstance(path, str) and path.startswith("/") and path.endswith("/")):
            path = f"/{placeholder(logical + '.Path')}/"
        shown = name if isinstance(name, str) else placeholder(logical)
        return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}{path}{shown}"

    def _json_of(self, node: Any, depth: int) -> Any:
        """The JSON a value writes as a string (unknown parts as `${...}`), or None."""
        value = self._value(node, depth + 1)
        text = value.text if isinstance(value, Unknown) else value
        if isinstance(value, dict):
            return value
        if not isinstance(text, str):
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None

    def _sub(self, args: Any, depth: int) -> Any:
        if isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict):
            template, variables = args[0], args[1]
        else:
            template, variables = args, {}
        template = self._value(template, depth)
        if not isinstance(template, str):
            return Unknown("Fn::Sub of a string not known", placeholder("Sub"))
        first: list[Unknown] = []
        pieces: list[str] = []
        length = 0
        position = 0
        for match in _SUB_VARIABLE.finditer(template):
            pieces.append(template[position : match.start()])
            position = match.end()
            name = match.group(1)
            if name.startswith("!"):
                piece = "${" + name[1:] + "}"  # `${!Literal}` writes `${Literal}`
            else:
                name = name.strip()
                if name in variables:
                    value = self._value(variables[name], depth)
                elif "." in name and name.split(".", 1)[0] in self.resources:
                    value = self.get_att(name, depth)
                else:
                    value = self.ref(name)
                piece = self._piece(value, first)
            length += len(piece)
            if length > MAX_CHARS:
                raise Budget
            pieces.append(piece)
        pieces.append(template[position:])
        return self._text(pieces, first)

    def _piece(self, value: Any, unknowns: list[Unknown]) -> str:
        """A value as part of a string; an unknown as its `${...}`."""
        if isinstance(value, Unknown):
            unknowns.append(value)
            return value.text if "${" in value.text else placeholder(value.text)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        unknown = Unknown("a value that is not a string inside a string", placeholder("value"))
        unknowns.append(unknown)
        return unknown.text

    def _join(self, args: Any, depth: int) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("Fn::Join written wrongly", placeholder("Join"))
        delimiter = self._value(args[0], depth)
        items = self._value(args[1], depth)
        if not isinstance(delimiter, str) or not isinstance(items, list):
            text = items.text if isinstance(items, Unknown) else placeholder("Join")
            return Unknown("Fn::Join of values not known", text)
        unknowns: list[Unknown] = []
        pieces = [self._piece(item, unknowns) for item in items]
        if sum(len(p) for p in pieces) > MAX_CHARS:
            raise Budget
        joined = delimiter.join(pieces)
        return self._text([joined], unknowns)

    def _select(self, args: Any, depth: int) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("Fn::Select written wrongly", placeholder("Select"))
        index = self._value(args[0], depth)
        items = self._value(args[1], depth)
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
            return items[index]
        text = items.text if isinstance(items, Unknown) else placeholder("Select")
        return Unknown("Fn::Select of values not known", text, getattr(items, "ref", None))

    def _split(self, args: Any, depth: int) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return Unknown("Fn::Split written wrongly", placeholder("Split"))
        delimiter = self._value(args[0], depth)
        text = self._value(args[1], depth)
        if isinstance(delimiter, str) and delimiter and isinstance(text, str):
            self._step(len(text) // CHARS_PER_STEP)
            return text.split(delimiter)
        if isinstance(delimiter, str) and delimiter and isinstance(text, Unknown):
            # split as written: the parts without an unknown are known
            self._step(len(text.text) // CHARS_PER_STEP)
            return [
                Unknown(text.reason, part, text.ref) if "${" in part else part
                for part in text.text.split(delimiter)
            ]
        shown = text.text if isinstance(text, Unknown) else placeholder("Split")
        return Unknown("Fn::Split of a string not known", shown, getattr(text, "ref", None))

    def _if(self, args: Any, depth: int) -> Any:
        if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
            return Unknown("Fn::If written wrongly", placeholder("If"))
        verdict = self.condition(args[0])
        if verdict is True:
            return self._value(args[1], depth)
        if verdict is False:
            return self._value(args[2], depth)
        return Unknown(f"condition {args[0]} is not known", placeholder(f"If.{args[0]}"))

    def _find_in_map(self, args: Any, depth: int) -> Any:
        if not (isinstance(args, list) and len(args) in (3, 4)):
            return Unknown("Fn::FindInMap written wrongly", placeholder("FindInMap"))
        keys = [self._value(a, depth) for a in args[:3]]
        default = (
            args[3].get("DefaultValue") if len(args) == 4 and isinstance(args[3], dict) else None
        )
        if all(isinstance(k, str) for k in keys):
            found: Any = self.mappings
            for key in keys:
                found = found.get(key) if isinstance(found, dict) else None
            if found is not None:
                return self._value(found, depth)
            if default is not None:
                return self._value(default, depth)
        return Unknown("Fn::FindInMap with keys not known", placeholder("FindInMap"))

    # ---- a resource's properties ----------------------------------------------------------
    def properties(self, node: Any) -> Any:
        """A resource's `Properties` as the mapping written, not yet evaluated: an `Fn::If`
        over the whole takes the branch its condition decides; over a condition not decided,
        it is a mapping of what both branches write alike, with the `Fn::If` written on each
        property (and item of a list as long in both) the branches write differently or only
        one writes (`AWS::NoValue` is no property), which is unknown for that condition.
        `AWS::NoValue` and absent properties are an empty mapping; properties given by another
        function (`!Ref`, `!ImportValue`) are Unknown; a value written that is not a mapping is
        returned as it is."""
        try:
            return self._properties(node)
        except Budget:
            self.spent = True
            return Unknown("the template's evaluation budget is spent", "${...}")
        except RecursionError:
            return Unknown("values nested too deeply", "${...}")

    def _properties(self, node: Any) -> Any:
        self._step()
        if node is None or _is_no_value(node):
            return LDict()
        function = _function(node) if isinstance(node, dict) else None
        if function is None:
            return node
        args = node[function]
        if function != "Fn::If" or not (
            isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)
        ):
            return self.value(node)
        verdict = self.condition(args[0])
        if verdict is True or verdict is False:
            return self._properties(args[1] if verdict else args[2])
        chosen, other = self._properties(args[1]), self._properties(args[2])
        if not (_plain_mapping(chosen) and _plain_mapping(other)):
            return Unknown(f"condition {args[0]} is not known", placeholder(f"If.{args[0]}"))
        return self._merged(args[0], chosen, other)

    def _merged(self, condition: str, chosen: Any, other: Any) -> Any:
        """What both branches of `Fn::If [condition, chosen, other]` write alike, the
        `Fn::If` on each part they write differently: mappings key by key, lists as long in
        both item by item. Lines: a part written alike is where the first branch writes it;
        another from its first line in one branch to its last in the other."""
        self._step()
        if chosen == other:
            return chosen
        if _plain_mapping(chosen) and _plain_mapping(other):
            out = LDict(line=_first(chosen, other), end_line=_last(chosen, other))
            for key in [*chosen, *(k for k in other if k not in chosen)]:
                mine = None if _is_no_value(chosen.get(key)) else chosen.get(key)
                theirs = None if _is_no_value(other.get(key)) else other.get(key)
                if mine is None and theirs is None:
                    continue
                spans = [s for s in (_key_span(chosen, key), _key_span(other, key)) if s]
                if mine == theirs:
                    out[key] = mine
                    spans = spans[:1]
                elif mine is None or theirs is None:
                    out[key] = _if(condition, mine, theirs)
                else:
                    out[key] = self._merged(condition, mine, theirs)
                if spans:
                    out.key_lines[key] = (min(s[0] for s in spans), max(s[1] for s in spans))
            return out
        if isinstance(chosen, list) and isinstance(other, list) and len(chosen) == len(other):
            items = LList(line=_first(chosen, other), end_line=_last(chosen, other))
            for index, (mine, theirs) in enumerate(zip(chosen, other, strict=True)):
                items.append(self._merged(condition, mine, theirs))
                spans = [_item_span(chosen, index), _item_span(other, index)]
                if mine == theirs or not spans[1]:
                    spans = spans[:1]
                spans = [s for s in spans if s]
                items.item_lines.append(
                    (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (0, 0)
                )
            return items
        return _if(condition, chosen, other)

    # ---- conditions -----------------------------------------------------------------------
    def condition(self, name: str) -> Any:
        """True, False or Unknown: the condition `name` of the `Conditions` section."""
        if name in self._decided:
            return self._decided[name]
        if name not in self.conditions or name in self._deciding:
            return Unknown(f"condition {name} is not known", placeholder(f"Condition.{name}"))
        self._deciding.add(name)
        try:
            verdict = self.decide(self.conditions[name])
        finally:
            self._deciding.discard(name)
        self._decided[name] = verdict
        return verdict

    def decide(self, node: Any) -> Any:
        """A condition function's verdict: True, False or Unknown."""
        self._step()
        function = _function(node) if isinstance(node, dict) else None
        if function is None:
            if isinstance(node, bool):
                return node
            return Unknown("not a condition", placeholder("Condition"))
        args = node[function]
        if function == "Condition":
            return self.condition(args) if isinstance(args, str) else Unknown("bad condition")
        if function == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            a, b = (self._value(x, 0) for x in args)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                return Unknown("Fn::Equals of values not known", placeholder("Equals"))
            return _as_text(a) == _as_text(b)
        if function == "Fn::Not" and isinstance(args, list) and len(args) == 1:
            verdict = self.decide(args[0])
            return verdict if isinstance(verdict, Unknown) else not verdict
        if function in ("Fn::And", "Fn::Or") and isinstance(args, list) and args:
            verdicts = [self.decide(a) for a in args]
            decisive = function == "Fn::Or"  # True decides an Or, False an And
            if decisive in verdicts:
                return decisive
            unknown = next((v for v in verdicts if isinstance(v, Unknown)), None)
            return unknown if unknown is not None else not decisive
        if function == "Ref" or function.startswith("Fn::"):
            value = self._value(node, 0)
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
        return Unknown(f"{function} is not a condition known here", placeholder("Condition"))


def _function(node: dict) -> str | None:
    """The intrinsic function a one-key mapping calls, else None."""
    if len(node) != 1:
        return None
    (key,) = node
    if key in ("Ref", "Condition") or (isinstance(key, str) and key.startswith("Fn::")):
        return key
    return None


def _is_no_value(node: Any) -> bool:
    """`Ref: AWS::NoValue` as written."""
    return isinstance(node, dict) and len(node) == 1 and node.get("Ref") == NO_VALUE


def _plain_mapping(node: Any) -> bool:
    """A mapping written out, not a function's call."""
    return isinstance(node, dict) and _function(node) is None


def _if(condition: str, chosen: Any, other: Any) -> dict:
    """`Fn::If [condition, chosen, other]`, a branch None being `AWS::NoValue`."""
    branches = [{"Ref": NO_VALUE} if b is None else b for b in (chosen, other)]
    return {"Fn::If": [condition, *branches]}


def _key_span(node: Any, key: Any) -> tuple[int, int] | None:
    spans = getattr(node, "key_lines", {})
    return spans.get(key) if key in node else None


def _item_span(node: Any, index: int) -> tuple[int, int] | None:
    spans = getattr(node, "item_lines", [])
    return spans[index] if index < len(spans) and spans[index][0] else None


def _first(*nodes: Any) -> int:
    lines = [getattr(n, "line", 0) for n in nodes]
    return min((line for line in lines if line), default=0)


def _last(*nodes: Any) -> int:
    return max(getattr(n, "end_line", 0) for n in nodes)


def _string(pieces: list[str], unknowns: list[Unknown]) -> Any:
    text = "".join(pieces)
    if not unknowns:
        return text
    first = unknowns[0]
    ref = next((u.ref for u in unknowns if u.ref), None)
    return Unknown(first.reason, text, ref)


def _as_text(value: Any) -> Any:
    """How Fn::Equals compares: values as strings (`true` for a boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _mapping(node: Any) -> dict:
    return node if isinstance(node, dict) else {}
