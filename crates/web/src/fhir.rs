//! Audit entries as FHIR R4 `AuditEvent`s in a `Bundle` of type
//! `collection`, following IHE Basic Audit Log Patterns (BALP,
//! <https://profiles.ihe.net/ITI/BALP/>): a RESTful-operation event
//! (`type` = `rest`, `subtype` a FHIR restful interaction), the user as the
//! requesting agent, Trygg as the source, the person as the `Patient`
//! entity and the request id as an `XrequestId` entity. Successful accesses
//! about a person carry the matching BALP profile (PatientRead,
//! PatientCreate, PatientUpdate, PatientQuery); refusals carry outcome 4
//! (minor failure) and no profile, as BALP's profiles describe successes.
//!
//! Persons and staff are named by Trygg's opaque ids, never by name or
//! identity number: an export leaves the system, the names stay in it.

use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use trygg_domain::{AuditEvent, Outcome, UnitId};
use trygg_store::ReviewedEntry;

const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.";

/// What kind of interaction an action is: (restful interaction, action
/// code C/R/U/D/E, BALP profile for a success about a patient).
fn interaction(action: &str) -> (&'static str, &'static str, Option<&'static str>) {
    match action.split(':').next().unwrap_or_default() {
        "read" => ("read", "R", Some("PatientRead")),
        "write" => ("update", "U", Some("PatientUpdate")),
        "create" => ("create", "C", Some("PatientCreate")),
        "find" => ("search", "E", Some("PatientQuery")),
        // Emergency access, permission changes and reviews are operations
        // on Trygg's own resources.
        _ => ("update", "E", None),
    }
}

/// The reason of use (HL7 v3 ActReason) behind a ground.
fn purpose(ground: &str) -> Option<(&'static str, &'static str)> {
    Some(match ground {
        "care_relationship" | "consent" => ("TREAT", "treatment"),
        "emergency_access" => ("ETREAT", "emergency treatment"),
        "own" => ("PATRQT", "patient requested"),
        "relative_grant" => ("FAMRQT", "family requested"),
        "administration" => ("HOPERAT", "healthcare operations"),
        _ => return None,
    })
}

/// Sets `key` of a JSON object.
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(o) = object.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// One entry as an `AuditEvent`.
pub fn audit_event(id: uuid::Uuid, event: &AuditEvent, units: &HashMap<UnitId, String>) -> Value {
    let (subtype, action, profile) = interaction(&event.action);
    let allowed = event.outcome == Outcome::Allow;
    let mut user = json!({
        "type": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
            "code": "humanuser",
            "display": "human user"
        }]},
        "who": { "identifier": { "system": "urn:trygg:actor", "value": event.actor.0 } },
        "requestor": true,
        "policy": [format!("urn:trygg:ground:{}", event.ground)]
    });
    if let Some(method) = event.method {
        set(
            &mut user,
            "extension",
            json!([{
                "url": "urn:trygg:authentication",
                "valueString": format!(
                    "{}{}",
                    method.as_str(),
                    event.loa.map(|l| format!(" {}", l.as_str())).unwrap_or_default()
                )
            }]),
        );
    }
    if let Some((code, display)) = purpose(&event.ground) {
        set(
            &mut user,
            "purposeOfUse",
            json!([{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                "code": code,
                "display": display
            }]}]),
        );
    }
    let mut agents = vec![user];
    if let Some(unit) = event.unit {
        let mut who =
            json!({ "identifier": { "system": "urn:trygg:unit", "value": unit.to_string() } });
        if let Some(name) = units.get(&unit) {
            set(&mut who, "display", json!(name));
        }
        agents.push(json!({
            "type": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                "code": "PROV",
                "display": "healthcare provider"
            }]},
            "who": who,
            "requestor": false
        }));
    }
    let mut entities = Vec::new();
    if let Some(person) = event.person {
        entities.push(json!({
            "what": { "reference": format!("Patient/{person}") },
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
                "display": "Person"
            },
            "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "1",
                "display": "Patient"
            }
        }));
    }
    if let Some(request) = &event.request_id {
        entities.push(json!({
            "what": { "identifier": { "value": request } },
            "type": {
                "system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                "code": "XrequestId"
            }
        }));
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": id.to_string(),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation"
        },
        "subtype": [{
            "system": "http://hl7.org/fhir/restful-interaction",
            "code": subtype
        }, {
            "system": "urn:trygg:action",
            "code": event.action
        }],
        "action": action,
        "recorded": time_text(event.at),
        "outcome": if allowed { "0" } else { "4" },
        "agent": agents,
        "source": {
            "site": event.tenant.map(|t| t.to_string()).unwrap_or_default(),
            "observer": { "display": "Trygg" },
            "type": [{
                "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4",
                "display": "Application Server"
            }]
        }
    });
    if !allowed {
        set(&mut resource, "outcomeDesc", json!(event.ground));
    }
    if !entities.is_empty() {
        set(&mut resource, "entity", json!(entities));
    }
    if let (true, Some(profile), Some(_)) = (allowed, profile, event.person) {
        set(
            &mut resource,
            "meta",
            json!({ "profile": [format!("{BALP}{profile}")] }),
        );
    }
    resource
}

/// A selection as a `Bundle` of type `collection`.
pub fn bundle(
    entries: &[ReviewedEntry],
    units: &HashMap<UnitId, String>,
    now: OffsetDateTime,
) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": time_text(now),
        "total": entries.len(),
        "entry": entries.iter().map(|e| json!({
            "fullUrl": format!("urn:uuid:{}", e.entry.id),
            "resource": audit_event(e.entry.id, &e.entry.event, units)
        })).collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trygg_domain::{Actor, AuthMethod, Loa, PersonId, TenantId};

    fn event(action: &str, outcome: Outcome, ground: &str) -> AuditEvent {
        AuditEvent {
            tenant: Some(TenantId::from_uuid(uuid::Uuid::nil())),
            at: time::macros::datetime!(2026-12-01 08:30 UTC),
            actor: Actor("staff:abc".into()),
            method: Some(AuthMethod::BankId),
            loa: Some(Loa::Loa3),
            person: Some(PersonId::from_uuid(uuid::Uuid::max())),
            action: action.into(),
            unit: None,
            outcome,
            ground: ground.into(),
            request_id: Some("req-1".into()),
        }
    }

    #[test]
    fn a_read_is_a_balp_patient_read() {
        let e = audit_event(
            uuid::Uuid::nil(),
            &event("read:care_plan", Outcome::Allow, "care_relationship"),
            &HashMap::new(),
        );
        assert_eq!(e["resourceType"], "AuditEvent");
        assert_eq!(e["meta"]["profile"][0], format!("{BALP}PatientRead"));
        assert_eq!(e["subtype"][0]["code"], "read");
        assert_eq!(e["action"], "R");
        assert_eq!(e["outcome"], "0");
        assert_eq!(e["recorded"], "2026-12-01T08:30:00Z");
        assert_eq!(e["agent"][0]["requestor"], true);
        assert_eq!(
            e["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
            "TREAT"
        );
        assert_eq!(
            e["entity"][0]["what"]["reference"],
            format!("Patient/{}", uuid::Uuid::max())
        );
        assert_eq!(e["entity"][1]["type"]["code"], "XrequestId");
    }

    #[test]
    fn a_refusal_has_no_success_profile_and_says_why() {
        let e = audit_event(
            uuid::Uuid::nil(),
            &event("write:visit_notes", Outcome::Deny, "no_relationship"),
            &HashMap::new(),
        );
        assert_eq!(e["outcome"], "4");
        assert_eq!(e["outcomeDesc"], "no_relationship");
        assert!(e.get("meta").is_none());
        let e = audit_event(
            uuid::Uuid::nil(),
            &event("begin_emergency_access", Outcome::Allow, "emergency_access"),
            &HashMap::new(),
        );
        assert_eq!(
            e["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
            "ETREAT"
        );
        assert!(e.get("meta").is_none());
    }
}
