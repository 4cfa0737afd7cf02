"""Architecture diagrams: nodes are the stack's key resources, edges its real wiring, both formats agree."""
import copy
import dataclasses
import random
import re

import pytest

from offline.diagrams import (FLOW, SIDE, Diagram, Edge, Node, architecture, component_diagram, stack_diagram,
                              to_dot, to_mermaid)


@pytest.fixture(scope="module")
def prod(request):
    return architecture(request.getfixturevalue("prod_stack"))


@pytest.fixture(scope="module")
def dev(request):
    return architecture(request.getfixturevalue("dev_stack"))


def node_named(arch, name, kind=None):
    [node] = [n for n in arch.nodes.values() if n.name == name and (kind is None or n.kind == kind)]
    return node


def edges_between(arch, source, target, **kinds):
    a, b = node_named(arch, source, kinds.get("source_kind")), node_named(arch, target, kinds.get("target_kind"))
    return [(e.label, e.style) for e in arch.edges if (e.source, e.target) == (a.id, b.id)]


def with_props(snapshot, name, **props):
    resources = [dataclasses.replace(r, props={**copy.deepcopy(r.props), **props}) if r.name == name and r.custom else r
                 for r in snapshot.resources]
    return dataclasses.replace(snapshot, resources=resources)


# nodes

def test_every_top_level_component_is_a_cluster_with_its_key_resources(prod):
    assert set(prod.components) == {"todo", "outbox", "updates", "photos", "blog-table", "blog-api",
                                    "blog-welcome", "blog-site", "media", "ingest", "shop", "shop-domain", "catalog",
                                    "cart", "checkout", "alarms", "blog-authoring", "shop-health"}
    for component in prod.components:
        assert any(n.component == component for n in prod.nodes.values()), component


def test_a_building_block_resource_is_shown_by_its_building_blocks_name(prod):
    worker = node_named(prod, "photos-worker")
    # 70 s: prod analyses images with Rekognition, 3 s more per worst-case image (docs/components/thumbnail-pipeline.md).
    assert (worker.kind, worker.component, worker.detail) == ("Lambda", "photos", "1088 MB, 70 s")


def test_wiring_and_detail_resources_are_not_nodes(prod):
    kinds = {n.kind for n in prod.nodes.values()}
    assert not kinds & {"IAM role", "Log group", "Event source mapping"}
    assert all(not n.name.endswith(("-role", "-logs-group", "-mapping")) for n in prod.nodes.values())


def test_node_ids_are_unique_and_safe_for_mermaid_and_dot(prod, dev):
    for arch in (prod, dev):
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", node_id) for node_id in arch.nodes)


def test_dax_node_shows_its_size_in_prod(prod):
    assert node_named(prod, "todo-dax").detail == "3 × dax.t3.small"


# edges, each from one kind of wiring

def test_queue_feeds_its_function_through_the_event_source_mapping(prod):
    assert edges_between(prod, "photos-queue", "photos-worker") == [("poll", FLOW)]


def test_bucket_notification_is_an_edge_from_bucket_to_queue(prod):
    assert edges_between(prod, "photos-uploads", "photos-queue") == [("ObjectCreated uploads/", FLOW)]


def test_stream_mapping_and_its_failure_destination(prod):
    assert edges_between(prod, "outbox-outbox", "outbox-relay") == [("stream (filtered)", FLOW)]
    assert edges_between(prod, "outbox-relay", "outbox-relay-failed") == [("failed records", SIDE)]


def test_queue_redrive_is_a_side_path_to_its_dead_letter_queue(prod):
    assert edges_between(prod, "outbox-shipping", "outbox-shipping-dlq") == [("redrive", SIDE)]


def test_eventbridge_rule_target_and_its_dlq(prod):
    assert edges_between(prod, "outbox-bus", "outbox-shipping") == [("OrderCreated", FLOW)]
    assert edges_between(prod, "outbox-bus", "outbox-order-created-dlq") == [("undeliverable (OrderCreated)", SIDE)]


def test_api_integrations_become_one_edge_per_function_labelled_with_routes(prod):
    outbox_api = [n for n in prod.nodes.values() if n.kind == "API Gateway REST" and n.component == "outbox"][0]
    assert [e.label for e in prod.edges if e.source == outbox_api.id and e.label != "authorizer"] == ["POST /orders"]
    blog_api = [n for n in prod.nodes.values() if n.kind == "API Gateway REST" and n.component == "blog-api"][0]
    [edge] = [e for e in prod.edges if e.source == blog_api.id]
    assert edge.label == "5 routes"  # posts, post, subscribe, and the two signed links


def test_many_routes_are_counted_instead_of_listed(prod):
    todo_api = [n for n in prod.nodes.values() if n.kind == "API Gateway REST" and n.component == "todo"][0]
    assert [e.label for e in prod.edges if e.source == todo_api.id and e.target == node_named(prod, "todo-handler").id] \
        == ["7 routes"]


def test_cognito_authorizer_links_the_api_to_its_user_pool(prod):
    todo_api = [n for n in prod.nodes.values() if n.kind == "API Gateway REST" and n.component == "todo"][0]
    assert [e.label for e in prod.edges if (e.source, e.target) == (todo_api.id, node_named(prod, "todo-users").id)] \
        == ["authorizer"]


def test_cloudfront_origins_are_labelled_with_their_path_patterns(prod):
    cdn = node_named(prod, "blog-site-cdn")
    labels = {prod.nodes[e.target].name: e.label for e in prod.edges if e.source == cdn.id and e.style == FLOW}
    assert labels["blog-site-content"] == "/assets/*, default"
    assert labels["blog-api-rest"] == "/api/*, /api/subscribe"


def test_origin_outside_the_stack_is_an_external_node(prod):
    origin = node_named(prod, "updates-origin.example.com")
    assert (origin.kind, origin.shape, origin.component) == ("origin", "external", None)
    assert edges_between(prod, "updates-cdn", "updates-origin.example.com") == [("/updates/*, default", FLOW)]


def test_waf_filters_the_distribution_in_prod_only(prod, dev):
    assert edges_between(prod, "blog-site-waf", "blog-site-cdn") == [("filters", FLOW)]
    assert not [n for n in dev.nodes.values() if n.kind == "WAF web ACL"]


def test_iam_grants_become_access_edges(prod):
    assert edges_between(prod, "todo-handler", "todo-dax") == [("read/write", FLOW)]
    assert edges_between(prod, "todo-dax", "todo-todos") == [("read/write", FLOW)]
    assert edges_between(prod, "photos-worker", "photos-thumbnails") == [("write", FLOW)]
    assert edges_between(prod, "photos-worker", "photos-uploads") == [("read", FLOW)]
    assert edges_between(prod, "outbox-relay", "outbox-bus") == [("send", FLOW)]


def test_identity_pool_reaches_the_bucket_through_its_authenticated_role(prod):
    assert edges_between(prod, "todo-identities", "todo-files") == [("read/write", FLOW)]
    assert edges_between(prod, "todo-identities", "todo-users") == [("user pool tokens", FLOW)]


def test_without_dax_the_function_reaches_the_table_directly(dev):
    assert edges_between(dev, "todo-handler", "todo-todos") == [("read/write", FLOW)]
    assert not [n for n in dev.nodes.values() if n.kind == "DAX"]


def test_a_grant_already_drawn_as_wiring_adds_no_second_edge(prod):
    """The worker may receive from its queue (IAM), but the mapping edge already says so."""
    assert edges_between(prod, "photos-worker", "photos-queue") == []


def test_load_balancer_forwarding_and_security_group_ingress_in_dev(dev):
    assert edges_between(dev, "updates-cdn", "updates-alb") == [("/updates/*, default", FLOW)]
    assert edges_between(dev, "updates-alb", "updates-servers") == [("HTTP 8080", FLOW)]
    assert edges_between(dev, "updates-servers", "updates-files") == [("tcp 2049", FLOW)]


def test_edges_follow_the_props_not_a_hand_list(prod_stack):
    """Point the worker's mapping at the dead-letter queue: the diagram follows."""
    mapping = prod_stack.named("photos-queue-mapping")
    dlq_arn = prod_stack.named("photos-queue-dlq").outputs["arn"]
    rewired = architecture(with_props(prod_stack, mapping.name, eventSourceArn=dlq_arn))
    assert edges_between(rewired, "photos-queue-dlq", "photos-worker") == [("poll", FLOW)]
    assert edges_between(rewired, "photos-queue", "photos-worker") == []


def test_diagram_does_not_depend_on_registration_order(prod_stack, prod):
    shuffled = list(prod_stack.resources)
    random.Random(7).shuffle(shuffled)
    again = architecture(dataclasses.replace(prod_stack, resources=shuffled))
    assert to_mermaid(stack_diagram(again)) == to_mermaid(stack_diagram(prod))
    assert to_dot(stack_diagram(again)) == to_dot(stack_diagram(prod))


# views

def test_component_diagram_draws_its_neighbours_for_context(prod):
    diagram = component_diagram(prod, "blog-api")
    own = {n.name for n in diagram.nodes if n.id not in diagram.foreign}
    context = {n.name for n in diagram.nodes if n.id in diagram.foreign}
    # the canary's release function is drawn with its API's function: it is part of every release
    assert own == {"blog-api-rest", "blog-api-handler", "blog-api-handler-canary-release"}
    assert context == {"blog-site-cdn", "blog-table", "blog-authoring-handler"}  # authors flush its stage cache
    assert all(e.source in {n.id for n in diagram.nodes} and e.target in {n.id for n in diagram.nodes}
               for e in diagram.edges)


def test_unknown_component_is_refused_naming_the_known_ones(prod):
    with pytest.raises(KeyError, match="no component 'nope' in stack prod; components: alarms, blog-api"):
        component_diagram(prod, "nope")


def test_stack_diagram_has_every_node_and_edge(prod):
    diagram = stack_diagram(prod)
    assert len(diagram.edges) == len(prod.edges)
    assert {n.id for n in diagram.nodes} == set(prod.nodes)


# renderers

SMALL = Diagram(
    title="demo",
    nodes=[Node("fn_a", "Lambda", 'say "hi"', "compute", "app"), Node("queue_b", "SQS", "b", "messaging", "app"),
           Node("ext_c", "origin", "c.example.com", "external")],
    edges=[Edge("queue_b", "fn_a", "poll"), Edge("fn_a", "queue_b", "on failure", SIDE), Edge("fn_a", "ext_c", "")],
    clusters={"app": "app (Demo)"}, foreign={"ext_c"})


def test_mermaid_has_one_subgraph_per_component_and_escapes_quotes():
    text = to_mermaid(SMALL)
    assert text.splitlines()[0] == "flowchart LR"
    assert '  subgraph c_app["app (Demo)"]' in text and text.count("  end") == 1
    assert 'fn_a["Lambda<br/>say #quot;hi#quot;"]' in text


def test_mermaid_draws_side_paths_dashed_and_context_nodes_dashed():
    text = to_mermaid(SMALL)
    assert '  queue_b -->|"poll"| fn_a' in text
    assert '  fn_a -.->|"on failure"| queue_b' in text
    assert "  fn_a --> ext_c" in text
    assert "  class ext_c context" in text


def test_dot_is_a_left_to_right_digraph_with_clusters_and_escaped_labels():
    text = to_dot(SMALL)
    assert text.startswith('digraph "demo" {') and text.rstrip().endswith("}")
    assert "rankdir=LR" in text and "subgraph cluster_app {" in text
    assert 'fn_a [label="Lambda\\nsay \\"hi\\""' in text
    assert 'fn_a -> queue_b [label="on failure", style="dashed"];' in text
    assert text.count("{") == text.count("}")


def test_the_shop_draws_its_call_chain_and_its_data(prod):
    assert edges_between(prod, "catalog-alb", "catalog-service") == [("HTTP 8080", FLOW)]
    assert edges_between(prod, "catalog-service", "catalog-table") == [("read/write", FLOW)]
    assert edges_between(prod, "catalog-table", "cart-api") == [("stream (filtered)", FLOW)]
    assert edges_between(prod, "cart-api", "cart-cache") == [("tcp 6379", FLOW)]
    assert edges_between(prod, "checkout-servers", "cart-rest") == [("invoke", FLOW)]
    assert edges_between(prod, "checkout-servers", "checkout-db") == [("tcp 5432", FLOW)]
    assert node_named(prod, "cart-cache").detail == "2 × cache.t4g.micro"
    assert node_named(prod, "checkout-db").detail == "db.t4g.medium, Multi-AZ"
