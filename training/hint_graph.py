"""The exported hint branch behind ONNX `If` nodes, so that a picture without hints skips it.

With no hints, each HintJoin adds exactly zero (training.networks), but an
ONNX graph computes it anyway: at the working size the branch costs as
much as the rest of the network (1.62 against 0.85 GMACs), on every
automatic colorization, which is most of them. torch.cond would say "only
with hints" in PyTorch, but torch.export (2.13) refuses it on this
network's dynamic shapes, so the exported graph is rewritten instead: each
join's nodes and the Add that puts its output on the decoder's features
move into the `then` branch of an If on "some pixel has a hint"; the
`else` branch passes the features on. The result is the same numbers
(training.export's parity check runs with and without hints), and without
hints the cost of the network without the branch.

The joins are found by the module path that torch's ONNX exporter records
on each node (metadata `pkg.torch.onnx.name_scopes`: `hint_joins.<i>`).
"""
from __future__ import annotations

import ast

import onnx
from onnx import TensorProto, helper

SCOPES = "pkg.torch.onnx.name_scopes"
PRESENCE_OPS = {"Slice", "ReduceMax"}  # "how confident is the picture's strongest hint": stays outside


def skip_joins_without_hints(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` (an exported hint-reading generator) with each hint join run only when a hint is present."""
    graph = model.graph
    groups: dict[int, list[onnx.NodeProto]] = {}
    presence = []
    for node in graph.node:
        join = _join_index(node)
        if join is None:
            continue
        (presence if node.op_type in PRESENCE_OPS else groups.setdefault(join, [])).append(node)
    strongest = [n for n in presence if n.op_type == "ReduceMax"]
    if not groups or not strongest:
        raise ValueError("no hint joins found in the exported graph (node metadata " + SCOPES + ")")

    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    initializers = {i.name: i for i in graph.initializer}
    wrapped: dict[int, onnx.NodeProto] = {}  # id of each join's Add -> the If replacing it
    dropped, moved = set(), set()
    for index, nodes in sorted(groups.items()):
        add, features, local = _join_output(nodes, consumers, initializers)
        wrapped[id(add)] = _if_hinted(index, nodes, add, features, [initializers[n] for n in local])
        dropped |= {id(n) for n in nodes}
        moved |= local

    has_hints = [helper.make_node("ReduceMax", [strongest[0].output[0]], ["hint_graph/strongest"], keepdims=0),
                 helper.make_node("Constant", [], ["hint_graph/none"],
                                  value=helper.make_tensor("none", TensorProto.FLOAT, [], [0.0])),
                 helper.make_node("Greater", ["hint_graph/strongest", "hint_graph/none"], ["hint_graph/has_hints"])]
    nodes = []
    for node in graph.node:
        if id(node) not in dropped:
            nodes.append(wrapped.get(id(node), node))
        if node is strongest[0]:
            nodes += has_hints
    rewritten = helper.make_graph(nodes, graph.name, graph.input, graph.output,
                                  [i for i in graph.initializer if i.name not in moved])
    out = helper.make_model(rewritten, opset_imports=model.opset_import, ir_version=model.ir_version)
    out.metadata_props.extend(model.metadata_props)
    return out


def _join_index(node: onnx.NodeProto) -> int | None:
    """i when the exporter recorded node as part of module hint_joins.<i>, else None."""
    for prop in node.metadata_props:
        if prop.key == SCOPES:
            for scope in ast.literal_eval(prop.value):
                if scope.startswith("hint_joins.") and scope.count(".") == 1:
                    return int(scope.split(".")[1])
    return None


def _join_output(nodes: list[onnx.NodeProto], consumers: dict[str, list[onnx.NodeProto]],
                 initializers: dict[str, onnx.TensorProto]) -> tuple[onnx.NodeProto, str, set[str]]:
    """The Add that puts a join's output on the features, the features' name, and the weights only the join
    uses."""
    inside = {id(n) for n in nodes}
    leaving = {o for n in nodes for o in n.output if any(id(c) not in inside for c in consumers.get(o, []))}
    if len(leaving) != 1 or len(consumers[next(iter(leaving))]) != 1:
        raise ValueError(f"a hint join should have one output, used once; found {sorted(leaving)}")
    output = next(iter(leaving))
    add = consumers[output][0]
    if add.op_type != "Add":
        raise ValueError(f"a hint join's output should be added to the features, not fed to {add.op_type}")
    local = {i for n in nodes for i in n.input
             if i in initializers and all(id(c) in inside for c in consumers[i])}
    features = next(i for i in add.input if i != output)
    return add, features, local


def _if_hinted(index: int, nodes: list[onnx.NodeProto], add: onnx.NodeProto, features: str,
               weights: list[onnx.TensorProto]) -> onnx.NodeProto:
    """If(has_hints): then the join and its Add, else the features as they are."""
    with_hints, without = f"hint_join_{index}/with_hints", f"hint_join_{index}/without"
    then_graph = helper.make_graph(
        [*nodes, helper.make_node("Add", list(add.input), [with_hints])], f"hint_join_{index}_with_hints", [],
        [helper.make_tensor_value_info(with_hints, TensorProto.FLOAT, None)], weights)
    else_graph = helper.make_graph(
        [helper.make_node("Identity", [features], [without])], f"hint_join_{index}_without_hints", [],
        [helper.make_tensor_value_info(without, TensorProto.FLOAT, None)])
    return helper.make_node("If", ["hint_graph/has_hints"], list(add.output), name=f"hint_join_{index}",
                            then_branch=then_graph, else_branch=else_graph)
