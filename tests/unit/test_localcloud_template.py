"""The runner's template reading: intrinsic functions, function specs, route matching, API Gateway responses."""

from __future__ import annotations

import base64

import pytest

from localcloud.gateway import Gateway, Route, compile_path, parse_result
from localcloud.lambdas import LocalFunction
from localcloud.template import Resolver, Tag, functions, load_template


def resolver() -> Resolver:
    return Resolver(
        params={"AWS::StackName": "s", "AWS::Region": "us-east-1", "Env": "dev"},
        refs={"Queue": "http://q", "Table": "s-table"},
        attrs={("Queue", "Arn"): "arn:aws:sqs:us-east-1:1:q"},
    )


def test_resolves_short_and_long_forms() -> None:
    r = resolver()
    assert r.resolve(Tag("Ref", "Table")) == "s-table"
    assert r.resolve({"Ref": "Env"}) == "dev"
    assert r.resolve(Tag("GetAtt", "Queue.Arn")) == "arn:aws:sqs:us-east-1:1:q"
    assert r.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:1:q"
    assert r.resolve(Tag("Sub", "${AWS::StackName}-x-${Queue.Arn}")) == "s-x-arn:aws:sqs:us-east-1:1:q"
    assert r.resolve(Tag("Sub", ["${A}-${Env}", {"A": Tag("Ref", "Table")}])) == "s-table-dev"
    assert r.resolve(Tag("Join", ["/", ["a", Tag("Ref", "Env")]])) == "a/dev"
    assert r.resolve({"k": [Tag("Ref", "Env"), 1]}) == {"k": ["dev", 1]}


def test_unknown_references_and_functions_fail_loudly() -> None:
    with pytest.raises(KeyError):
        resolver().resolve(Tag("Ref", "Missing"))
    with pytest.raises(ValueError, match="not supported"):
        resolver().resolve(Tag("If", ["c", 1, 2]))


def test_function_specs_come_from_the_template() -> None:
    specs = {s.logical_id: s for s in functions(load_template())}
    worker = specs["ConversationWorkerFunction"]
    assert worker.handler == "conversation_worker.lambda_handler"
    assert worker.package_type == "Image"
    assert worker.code_dirs[0].parts[-2:] == ("functions", "webhook")
    receiver = specs["WebhookReceiverFunction"]
    assert receiver.timeout == 5
    assert any(d.parts[-2:] == ("layers", "common") for d in receiver.code_dirs)
    assert "CONFIG_TABLE" in receiver.environment  # from Globals


def _route(method: str, path: str) -> Route:
    return Route(method, path, compile_path(path), LocalFunction.__new__(LocalFunction))


def test_most_specific_route_and_method_win() -> None:
    gateway = Gateway([
        _route("ANY", "/configs/{proxy+}"),
        _route("GET", "/configs"),
        _route("DELETE", "/mapping/{account_id}/{inbox_id}"),
        _route("ANY", "/mapping"),
        _route("GET", "/products/{product_id}"),
    ], cors=None)
    route, params, _ = gateway.match("GET", "/configs/t1/default/config")
    assert route and route.path == "/configs/{proxy+}" and params == {"proxy": "t1/default/config"}
    route, params, _ = gateway.match("DELETE", "/mapping/3/12")
    assert route and params == {"account_id": "3", "inbox_id": "12"}
    route, params, exists = gateway.match("POST", "/products/9")
    assert route is None and exists  # 405, not 404
    route, params, exists = gateway.match("GET", "/nope")
    assert route is None and not exists
    route, params, _ = gateway.match("GET", "/products/a%20b")
    assert params == {"product_id": "a b"}


def test_lambda_results_become_http_responses() -> None:
    status, headers, body, cookies = parse_result({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hi",
                                                   "cookies": ["a=b"]})
    assert (status, headers, body, cookies) == (201, {"x-a": "1"}, b"hi", ["a=b"])
    status, _, body, _ = parse_result({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                                      "isBase64Encoded": True})
    assert body == b"\x00\x01"
    status, headers, body, _ = parse_result({"ok": True})
    assert status == 200 and body == b'{"ok": true}'
