# The library of the eks-checks bundle: the rule language's three-valued operators and message
# formatting, the same semantics as checks/evaluate.py. Shipped with eks-checks and copied
# into every bundle that `eks-checks rego export` writes.
#
# A verdict is 0 (false), 1 (unknown) or 2 (true): `all` is the smallest verdict of its
# conditions, `any` the largest, `not` is 2 - v, and a rule fires only on 2. A value the
# model cannot know is an object {"unknown": "how it was written"}: an entity's unknown fields
# (listed under `unknown` in `eks-checks model`) are put back among its fields in that form,
# as list items already are. Rego has no recursion, so nested values are walked to a fixed
# depth (display: four levels; the model's deepest field, a list of objects holding lists,
# has three).
package eks_checks.lib

import rego.v1

severity_rank := {"low": 0, "medium": 1, "high": 2, "critical": 3}

# Configured parameters: data.eks_checks.params[rule id][name], written by the export from
# the configuration; a parameter not there takes the rule's default.
default configured_params := {}

configured_params := data.eks_checks.params

rule_params(rule_id, defaults) := object.union(defaults, object.get(configured_params, rule_id, {}))

default fail_on := "low"

fail_on := data.eks_checks.fail_on

default metadata := {}

metadata := data.eks_checks.metadata

rule_severity(rule_id, fallback) := object.get(metadata, [rule_id, "severity"], fallback)

# ---- values ------------------------------------------------------------------------------

is_unknown(value) if {
	is_object(value)
	count(value) == 1
	is_string(value.unknown)
}

is_unknown(value) if has_items(value)

# A list known in part: unknown, but carrying the items that membership, emptiness and the
# quantifiers judge (the model's `partial`: its known items, then an unknown item for what
# else it may hold), as checks/evaluate.py judges them.
has_items(value) if {
	is_object(value)
	count(value) == 2
	is_string(value.unknown)
	is_array(value.items)
}

judged(value) := value.items if {
	has_items(value)
} else := value

# The fields a condition looks at: the entity's known fields and its unknown ones.
context(entity) := object.union(entity.fields, unknown) if {
	written := object.get(entity, "unknown", {})
	partial := object.get(entity, "partial", {})
	unknown := {name: marker | some name; text := written[name]; marker := unknown_marker(text, partial, name)}
}

unknown_marker(text, partial, name) := {"unknown": text, "items": partial[name]} if {
	is_array(partial[name])
} else := {"unknown": text}

# One step of a field path (`subjects`, `a.b`): an unknown value stays unknown, an object
# gives its member (null when absent), anything else null.
step(value, name) := value if {
	is_unknown(value)
} else := object.get(value, name, null) if {
	is_object(value)
} else := null

# The items a quantifier tests: a list's items, nothing for null, else the value itself.
items(value) := value.items if {
	has_items(value)
} else := value if {
	is_array(value)
} else := [] if {
	value == null
} else := [value]

# ---- verdicts ----------------------------------------------------------------------------

all_of(verdicts) := 0 if {
	0 in verdicts
} else := 1 if {
	1 in verdicts
} else := 2

any_of(verdicts) := 2 if {
	2 in verdicts
} else := 1 if {
	1 in verdicts
} else := 0

not_of(verdict) := 2 - verdict

# A quantifier over an unknown value is unknown; an unknown item's verdict is unknown.
item_verdict(item, verdict) := 1 if {
	is_unknown(item)
} else := verdict

any_item(value, verdicts) := 1 if {
	is_unknown(value)
	not has_items(value)
} else := any_of(verdicts)

no_item(value, verdicts) := 1 if {
	is_unknown(value)
	not has_items(value)
} else := not_of(any_of(verdicts))

every_item(value, verdicts) := 1 if {
	is_unknown(value)
	not has_items(value)
} else := all_of(verdicts)

# ---- operators (the value is known unless said otherwise) ---------------------------------

op_equals(value, operand) := 1 if {
	is_unknown(value)
} else := 2 if {
	same(value, operand)
} else := 0

op_not_equals(value, operand) := 1 if {
	is_unknown(value)
} else := 0 if {
	same(value, operand)
} else := 2

op_in(value, operand) := 1 if {
	is_unknown(value)
} else := 2 if {
	within(value, operand)
} else := 0

op_not_in(value, operand) := 1 if {
	is_unknown(value)
} else := 0 if {
	within(value, operand)
} else := 2

op_contains(value, operand) := 1 if {
	is_unknown(judged(value))
} else := member(operand, judged(value))

op_contains_any(value, operand) := 1 if {
	is_unknown(judged(value))
} else := any_of([verdict | some needle in operand_items(operand); verdict := member(needle, judged(value))])

op_contains_all(value, operand) := 1 if {
	is_unknown(judged(value))
} else := all_of([verdict | some needle in operand_items(operand); verdict := member(needle, judged(value))])

op_greater_than(value, operand) := 1 if {
	is_unknown(value)
} else := 2 if {
	number_of(value) > number_of(operand)
} else := 0

op_less_than(value, operand) := 1 if {
	is_unknown(value)
} else := 2 if {
	number_of(value) < number_of(operand)
} else := 0

op_matches(value, pattern) := 1 if {
	is_unknown(value)
} else := 2 if {
	value != null
	regex.match(pattern, text_of(value))
} else := 0

# exists and missing: an unknown value exists (it is written, only not known)
op_exists(value) := 0 if {
	value == null
} else := 2

op_missing(value) := 2 if {
	value == null
} else := 0

op_empty(value, operand) := op_empty_judged(judged(value), operand)

op_empty_judged(value, operand) := 1 if {
	is_unknown(value)
} else := 2 if {
	truthy(operand)
	is_empty(value)
} else := 2 if {
	not truthy(operand)
	not is_empty(value)
} else := 0

# Equality as in Python: true equals 1 and false 0, 1 equals 1.0, lists item by item.
same(a, b) if a == b

same(a, b) if {
	numeric(a)
	numeric(b)
	to_num(a) == to_num(b)
}

same(a, b) if {
	is_array(a)
	is_array(b)
	count(a) == count(b)
	every index, item in a {
		same_scalar(item, b[index])
	}
}

same_scalar(a, b) if a == b

same_scalar(a, b) if {
	numeric(a)
	numeric(b)
	to_num(a) == to_num(b)
}

numeric(value) if is_number(value)

numeric(value) if is_boolean(value)

to_num(value) := 1 if {
	value == true
} else := 0 if {
	value == false
} else := value

# `value in operand`: an item of a list operand, or a part of a non-empty string operand.
within(value, operand) if {
	is_array(operand)
	some item in operand
	same(value, item)
}

within(value, operand) if {
	is_string(operand)
	operand != ""
	is_string(value)
	contains(operand, value)
}

# Three-valued membership: a needle not among the known items of a list that holds unknown
# items is unknown; in a string, a part of it.
member(needle, haystack) := 2 if {
	is_array(haystack)
	some item in haystack
	not is_unknown(item)
	same(item, needle)
} else := 1 if {
	is_array(haystack)
	some item in haystack
	is_unknown(item)
} else := 2 if {
	is_string(haystack)
	contains(haystack, text_of(needle))
} else := 0

operand_items(operand) := operand if {
	is_array(operand)
} else := split(operand, "") if {
	is_string(operand)
} else := []

# A number, or a string that reads as a decimal number; booleans are not numbers.
number_of(value) := value if {
	is_number(value)
}

number_of(value) := to_number(concat("", [sign, digits])) if {
	is_string(value)
	parts := regex.find_all_string_submatch_n(`^\s*([+-]?)(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*$`, value, 1)
	count(parts) == 1
	sign := trim(parts[0][1], "+")
	digits := leading_zero(parts[0][2])
}

leading_zero(digits) := concat("", ["0", digits]) if {
	startswith(digits, ".")
} else := digits

truthy(value) if not falsy(value)

falsy(value) if value == false

falsy(value) if value == null

falsy(value) if value == ""

falsy(value) if {
	is_number(value)
	value == 0
}

falsy(value) if {
	is_array(value)
	count(value) == 0
}

falsy(value) if {
	is_object(value)
	count(value) == 0
}

is_empty(value) if value == null

is_empty(value) if {
	is_string(value)
	value == ""
}

is_empty(value) if {
	is_array(value)
	count(value) == 0
}

is_empty(value) if {
	is_object(value)
	count(value) == 0
}

# Python's str() of a value, as `matches` and `contains` on a string see it.
text_of(value) := value if {
	is_string(value)
} else := "True" if {
	value == true
} else := "False" if {
	value == false
} else := "None" if {
	value == null
} else := json.marshal(value) if {
	is_number(value)
} else := concat("", ["[", concat(", ", shown), "]"]) if {
	is_array(value)
	shown := [text | some item in value; text := repr(item)]
} else := concat("", ["{", concat(", ", shown), "}"]) if {
	is_object(value)
	shown := [text | some key in sort(object.keys(value)); text := concat("", [repr(key), ": ", repr(value[key])])]
} else := json.marshal(value)

# Python's repr() of a scalar; a container inside a container as JSON.
repr(value) := concat("", ["\"", escaped(value), "\""]) if {
	is_string(value)
	contains(value, "'")
	not contains(value, "\"")
} else := concat("", ["'", replace(escaped(value), "'", "\\'"), "'"]) if {
	is_string(value)
} else := text_of_scalar(value)

escaped(text) := replace(replace(replace(replace(text, "\\", "\\\\"), "\n", "\\n"), "\r", "\\r"), "\t", "\\t")

text_of_scalar(value) := "True" if {
	value == true
} else := "False" if {
	value == false
} else := "None" if {
	value == null
} else := json.marshal(value)

# ---- messages ----------------------------------------------------------------------------

# A placeholder {name}: the field's value, else the parameter's, else the text as written.
# `order` lists the keys of the objects the field holds in the order eks-checks shows them.
placeholder(fields, params, name, order) := display(value, order) if {
	value := fields[name]
} else := display(value, order) if {
	value := params[name]
} else := concat("", ["{", name, "}"])

# How a message shows a value: lists [a, b], true/false, null as (not set), an unknown value
# as it was written, objects {key: value}, numbers as JSON writes them.
display(value, order) := display_4(value, order)

display_4(value, order) := concat("", ["[", concat(", ", shown), "]"]) if {
	is_array(value)
	shown := [text | some item in value; text := display_3(item, order)]
} else := show_object(value, order, shown) if {
	is_object(value)
	not is_unknown(value)
	shown := {key: text | some key in object.keys(value); text := display_3(value[key], order)}
} else := display_0(value)

display_3(value, order) := concat("", ["[", concat(", ", shown), "]"]) if {
	is_array(value)
	shown := [text | some item in value; text := display_2(item, order)]
} else := show_object(value, order, shown) if {
	is_object(value)
	not is_unknown(value)
	shown := {key: text | some key in object.keys(value); text := display_2(value[key], order)}
} else := display_0(value)

display_2(value, order) := concat("", ["[", concat(", ", shown), "]"]) if {
	is_array(value)
	shown := [text | some item in value; text := display_1(item, order)]
} else := show_object(value, order, shown) if {
	is_object(value)
	not is_unknown(value)
	shown := {key: text | some key in object.keys(value); text := display_1(value[key], order)}
} else := display_0(value)

display_1(value, order) := concat("", ["[", concat(", ", shown), "]"]) if {
	is_array(value)
	shown := [text | some item in value; text := display_0(item)]
} else := show_object(value, order, shown) if {
	is_object(value)
	not is_unknown(value)
	shown := {key: text | some key in object.keys(value); text := display_0(value[key])}
} else := display_0(value)

display_0(value) := value.unknown if {
	is_unknown(value)
} else := "(not set)" if {
	value == null
} else := "true" if {
	value == true
} else := "false" if {
	value == false
} else := value if {
	is_string(value)
} else := json.marshal(value)

# An object's entries in `order`, then the others by name.
show_object(value, order, shown) := concat("", ["{", concat(", ", entries), "}"]) if {
	entries := [entry | some key in ordered_keys(value, order); entry := concat("", [key, ": ", shown[key]])]
}

ordered_keys(value, order) := array.concat(
	[key | some key in order; key in object.keys(value)],
	sort([key | some key in object.keys(value); not key in order]),
)

# ---- findings ----------------------------------------------------------------------------

# Where a finding points: the first of the rule's `location` names that the entity has lines
# for (the item of an `any_item` list that made the rule true, else the field's lines), else
# the entity's own lines.
location(entity, names, witness) := {
	"file": span_file(entity, names[pair[0]], witness),
	"start_line": span[0],
	"end_line": larger(span[0], span[1]),
} if {
	spans := [pair | some index; name := names[index]; found := name_span(entity, name, witness); pair := [index, found]]
	some pair in spans
	not span_before(spans, pair[0])
	span := pair[1]
} else := entity.location

# The file a field's lines are in: the entity's own, or the Kustomize patch that set it.
span_file(entity, name, witness) := object.get(line_files(entity), sprintf("%s[%d]", [name, witness[name]]), entity.location.file) if {
	witness[name] < count(entity.item_lines[name])
} else := object.get(line_files(entity), name, entity.location.file)

line_files(entity) := object.get(entity, "line_files", {})

# What explains a finding besides the rule's links: first the object a Kustomize patch
# changed, when the finding points at the patch.
patched(entity, where) := [{"location": entity.location, "message": "the object the patch changes, as written"}] if {
	where.file != entity.location.file
} else := []

span_before(spans, index) if {
	some pair in spans
	pair[0] < index
}

name_span(entity, name, witness) := entity.item_lines[name][witness[name]] if {
	witness[name] < count(entity.item_lines[name])
} else := entity.field_lines[name]

# The list item positions a rule's `any_item` conditions found, in the order Python's
# evaluation meets them: [[field, index]...]. `parts` holds, for each condition of an `all`
# or `any` up to the one that decides it, what that condition found.
witness_all(verdicts, parts) := flatten_parts(parts, decided_at(verdicts, 0))

witness_any(verdicts, parts) := flatten_parts(parts, decided_at(verdicts, 2))

decided_at(verdicts, deciding) := smallest(found) if {
	found := [index | some index; verdicts[index] == deciding]
	count(found) > 0
} else := count(verdicts) - 1

flatten_parts(parts, last) := [pair |
	some index in numbers.range(0, last)
	some pair in parts[index]
]

# The first position each field was found at.
witness_map(pairs) := {name: position |
	some index
	pair := pairs[index]
	name := pair[0]
	not found_before(pairs, index, name)
	position := pair[1]
}

found_before(pairs, index, name) if {
	some earlier
	pairs[earlier][0] == name
	earlier < index
}

# The smallest and the larger of numbers, with comparisons only (min, max and sort of
# numbers are not reliable in every Rego engine).
smallest(numbers) := [number | some number in numbers; every other in numbers { number <= other }][0]

larger(a, b) := a if {
	a > b
} else := b

finding(rule_id, meta, entity, message, where) := {
	"rule_id": rule_id,
	"slug": meta.slug,
	"title": meta.title,
	"severity": rule_severity(rule_id, meta.severity),
	"message": message,
	"entity_key": entity.key,
	"location": where,
}

# The entity a link names, by [the linking entity's file, the key]: of the entities with that
# key (one object copied into several environment folders), the first of those nearest to
# the file, as the link stage chose it: in the file, else under the deepest directory they
# share (checks.link.LinkTargets). Worked out once for every link of the model, and looked up
# with the rule's own variables: an engine may confuse a function's argument with a
# variable of the same name in the rule the function reads.
linked_places := {[from_file, link_key]: nearest[0] |
	some linking in input.entities
	from_file := linking.location.file
	some named_keys in object.get(linking, "links", {})
	some link_key in named_keys
	copies := linked_entities[link_key]
	scores := [closeness(from_file, copy_of.location.file) | some copy_of in copies]
	nearest := [copies[i] |
		some i in numbers.range(0, count(copies) - 1)
		not outscored(scores, scores[i])
	]
}

outscored(scores, score) if {
	some rival in scores
	rival > score
}

linked_entities := {wanted: found |
	some wanted in linked_keys
	found := [candidate | some candidate in input.entities; candidate.key == wanted]
	count(found) > 0
}

linked_keys := {named |
	some linking in input.entities
	some named_keys in object.get(linking, "links", {})
	some named in named_keys
}

# How near two files are: 1000 for the same file, else how many leading directories they
# share (checks.link._closeness).
closeness(near, far) := 1000 if {
	near == far
} else := count(shared) if {
	near_parts := split(near, "/")
	far_parts := split(far, "/")
	shared := [depth |
		some depth in numbers.range(0, count(near_parts))
		depth < count(near_parts) - 1
		depth < count(far_parts) - 1
		not differ_up_to(near_parts, far_parts, depth)
	]
}

differ_up_to(near_parts, far_parts, depth) if {
	some part in numbers.range(0, depth)
	near_parts[part] != far_parts[part]
}
