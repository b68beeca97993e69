//! Typed identifiers. Every row gets a UUIDv7 made from the [`Clock`], so ids
//! sort by creation time and tests control them.

use crate::Clock;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::{Timestamp, Uuid};

/// A fresh UUIDv7 stamped with the clock's current time.
pub fn new_v7(clock: &dyn Clock) -> Uuid {
    let now = clock.now();
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix(
        uuid::NoContext,
        secs,
        now.nanosecond(),
    ))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id stamped with the clock's time.
            pub fn generate(clock: &dyn Clock) -> Self {
                Self(new_v7(clock))
            }
            /// Wraps an existing UUID (read from storage or input).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

id_type!(
    /// A care provider or municipality: the tenant every row belongs to.
    TenantId, "TenantId");
id_type!(
    /// A unit (enhet) in a tenant's organisation tree.
    UnitId, "UnitId");
id_type!(
    /// A staff member.
    StaffId, "StaffId");
id_type!(
    /// A person receiving care (brukare).
    PersonId, "PersonId");
id_type!(
    /// A relative or proxy of a person.
    RelativeId, "RelativeId");
id_type!(
    /// A care relationship between staff or a unit and a person.
    CareRelationshipId, "CareRelationshipId");
id_type!(
    /// A safety-alarm device (trygghetslarm) in the device registry.
    DeviceId, "DeviceId");
id_type!(
    /// An alarm received from a device.
    AlarmId, "AlarmId");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use time::macros::datetime;

    #[test]
    fn ids_follow_the_clock_and_sort_by_time() {
        let clock = ManualClock::new(datetime!(2026-03-01 08:00 UTC));
        let a = PersonId::generate(&clock);
        clock.advance(time::Duration::seconds(1));
        let b = PersonId::generate(&clock);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        let (secs, _) = a.as_uuid().get_timestamp().unwrap().to_unix();
        assert_eq!(
            secs as i64,
            datetime!(2026-03-01 08:00 UTC).unix_timestamp()
        );
        assert_eq!(a.to_string().parse::<PersonId>().unwrap(), a);
        assert!("not-a-uuid".parse::<PersonId>().is_err());
    }
}
