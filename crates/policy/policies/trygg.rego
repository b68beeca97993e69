# Trygg's access rules in Rego: the same rules as the Cedar policies and
# trygg_policy::reference, kept for the benchmark (regorus) and checked
# against the reference model by tests/rego.rs. Not a decision path.
#
# data.trygg.via is the ground of an allow ("own", "relative_grant",
# "care_relationship", "consent", "emergency_access"), undefined on a deny.
# The input is built by tests/support/rego.rs; for find and
# begin_emergency_access the action's part is "overview" and the owner null.
package trygg

import rego.v1

p := input.principal

act := input.action

res := input.resource

facts := input.facts

# The role table.
overview_roles := {"alarm_operator", "home_care_staff", "nurse", "unit_manager"}

capabilities := {
	"read/overview": overview_roles,
	"read/contact": overview_roles,
	"read/alarms": overview_roles,
	"write/alarms": {"alarm_operator", "home_care_staff"},
	"read/care_plan": {"home_care_staff", "nurse", "unit_manager"},
	"read/visit_notes": {"home_care_staff", "nurse", "unit_manager"},
	"write/care_plan": {"nurse", "unit_manager"},
	"write/visit_notes": {"home_care_staff", "nurse"},
	"find/overview": overview_roles,
	"begin_emergency_access/overview": overview_roles,
}

capable contains role if {
	some role in capabilities[concat("/", [act.kind, act.part])]
}

# Rule 0.
basics if {
	p.kind != "bootstrap_admin"
	p.tenant == facts.tenant
	res.person == facts.person
	p.loa >= res.min_loa
}

# Rule 1.
via := "own" if {
	basics
	p.kind == "person"
	p.person == facts.person
	act.kind in {"read", "find"}
}

# Rule 2.
granted contains part if {
	some g in facts.relative_grants
	g.relative == p.id
	some part in g.parts
}

relative_may if {
	act.kind == "read"
	act.part in granted
}

relative_may if {
	act.kind == "find"
	count(granted) > 0
}

via := "relative_grant" if {
	basics
	p.kind == "relative"
	p.person == facts.person
	not facts.protected_identity
	relative_may
}

# Rule 3: the care link.
direct if {
	some c in facts.care
	c.staff == p.id
}

care_units contains c.unit if {
	some c in facts.care
	c.unit
}

linked_units contains r.unit if {
	some r in p.roles
	direct
}

linked_units contains r.unit if {
	some r in p.roles
	r.unit in care_units
}

emergency if {
	some e in facts.emergency
	e.staff == p.id
	e.until > input.now
}

by_care if {
	some r in p.roles
	r.unit in linked_units
	r.role in capable
}

by_emergency if {
	emergency
	some r in p.roles
	r.role in capable
}

protected_contact if {
	facts.protected_identity
	act.kind == "read"
	act.part == "contact"
}

protected_ok if not protected_contact

protected_ok if direct

owner_linked if res.owner_unit == null

owner_linked if res.owner_unit in linked_units

blocked if {
	not owner_linked
	res.owner_unit in facts.blocked_units
}

consent if {
	some u in facts.consents
	u in linked_units
}

staff_via := "care_relationship" if {
	by_care
	owner_linked
} else := "consent" if {
	by_care
	not blocked
	consent
} else := "emergency_access" if {
	emergency
	not blocked
	by_care
} else := "emergency_access" if {
	by_emergency
	not blocked
}

via := v if {
	basics
	p.kind == "staff"
	act.kind in {"read", "write", "find"}
	protected_ok
	v := staff_via
}

via := "emergency_access" if {
	basics
	p.kind == "staff"
	act.kind == "begin_emergency_access"
	some r in p.roles
	r.role in capable
	p.stepped_up
	p.loa >= 3
}
