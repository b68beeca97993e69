//! The simulator's orders and their life cycle, driven by the injected clock.
//!
//! ```text
//! pending outstandingTransaction ──scan──► pending started ──(collected)──► pending userSign
//!        │  no scan within 30 s: failed startFailed            │
//!        │  not done within 3 min: failed expiredTransaction   │
//!        └──────────── approve ──► complete ◄──────────────────┘
//!                      cancel-by-user ──► failed userCancel
//!                      hint ──► any pending or failed hint
//!                      RP cancel ──► gone ("No such order")
//! ```
//!
//! Finished orders can be collected for 3 minutes (complete) or 5 minutes
//! (failed); after that they are gone, as BankID documents.

use crate::model::HintCode;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};
use trygg_domain::IdentityNumber;

/// A pending order that was not picked up by the app (QR scanned or
/// autostart) within this time fails with `startFailed`.
pub const START_TIMEOUT: Duration = Duration::seconds(30);
/// A pending order fails with `expiredTransaction` this long after it started.
pub const ORDER_TIMEOUT: Duration = Duration::minutes(3);
/// How long a complete order can still be collected.
pub const COMPLETE_RETENTION: Duration = Duration::minutes(3);
/// How long a failed order can still be collected.
pub const FAILED_RETENTION: Duration = Duration::minutes(5);

/// `/auth` or `/sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Auth,
    Sign,
}

/// Who approved the order in the simulated app.
#[derive(Clone)]
pub(crate) struct Approver {
    pub personal_number: IdentityNumber,
    pub given_name: String,
    pub surname: String,
}

#[derive(Clone)]
pub(crate) enum Phase {
    Pending {
        hint: HintCode,
        /// The app has the order (QR scanned, autostarted, or a later hint).
        picked_up: bool,
        /// `started` turns into `userSign` once it has been collected.
        advance: bool,
    },
    Complete {
        at: OffsetDateTime,
        approver: Approver,
    },
    Failed {
        at: OffsetDateTime,
        hint: HintCode,
    },
}

/// One order. Holds the `qrStartSecret`: never logged, no `Debug`.
pub(crate) struct SimOrder {
    pub order_ref: String,
    pub auto_start_token: String,
    pub qr_start_token: String,
    pub qr_start_secret: String,
    pub kind: Kind,
    pub end_user_ip: IpAddr,
    /// `userVisibleData`, decoded, for the app page.
    pub user_visible_text: Option<String>,
    pub user_visible_data: Option<String>,
    pub user_non_visible_data: Option<String>,
    pub mrtd_required: bool,
    pub created_at: OffsetDateTime,
    pub phase: Phase,
}

/// Why a control action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ControlError {
    NoSuchOrder,
    NotPending(&'static str),
}

impl SimOrder {
    pub(crate) fn new(
        kind: Kind,
        end_user_ip: IpAddr,
        created_at: OffsetDateTime,
        user_visible_text: Option<String>,
    ) -> Self {
        SimOrder {
            order_ref: uuid::Uuid::new_v4().to_string(),
            auto_start_token: uuid::Uuid::new_v4().to_string(),
            qr_start_token: uuid::Uuid::new_v4().to_string(),
            qr_start_secret: uuid::Uuid::new_v4().to_string(),
            kind,
            end_user_ip,
            user_visible_text,
            user_visible_data: None,
            user_non_visible_data: None,
            mrtd_required: false,
            created_at,
            phase: Phase::Pending {
                hint: HintCode::OutstandingTransaction,
                picked_up: false,
                advance: false,
            },
        }
    }

    /// Applies the time limits as of `now`.
    pub(crate) fn refresh(&mut self, now: OffsetDateTime) {
        if let Phase::Pending { picked_up, .. } = self.phase {
            let start_deadline = self.created_at + START_TIMEOUT;
            let expiry = self.created_at + ORDER_TIMEOUT;
            if !picked_up && now >= start_deadline {
                self.phase = Phase::Failed {
                    at: start_deadline,
                    hint: HintCode::StartFailed,
                };
            } else if now >= expiry {
                self.phase = Phase::Failed {
                    at: expiry,
                    hint: HintCode::ExpiredTransaction,
                };
            }
        }
    }

    /// Whether the order can still be collected at `now` (after [`refresh`](Self::refresh)).
    pub(crate) fn retained(&self, now: OffsetDateTime) -> bool {
        match &self.phase {
            Phase::Pending { .. } => true,
            Phase::Complete { at, .. } => now < *at + COMPLETE_RETENTION,
            Phase::Failed { at, .. } => now < *at + FAILED_RETENTION,
        }
    }

    pub(crate) fn is_pending(&self) -> bool {
        matches!(self.phase, Phase::Pending { .. })
    }

    pub(crate) fn status(&self) -> &'static str {
        match self.phase {
            Phase::Pending { .. } => "pending",
            Phase::Complete { .. } => "complete",
            Phase::Failed { .. } => "failed",
        }
    }

    pub(crate) fn hint(&self) -> Option<&HintCode> {
        match &self.phase {
            Phase::Pending { hint, .. } | Phase::Failed { hint, .. } => Some(hint),
            Phase::Complete { .. } => None,
        }
    }

    fn require_pending(&self) -> Result<(), ControlError> {
        if self.is_pending() {
            Ok(())
        } else {
            Err(ControlError::NotPending(self.status()))
        }
    }

    /// The app got the order (QR scanned, or opened with the autostart token).
    pub(crate) fn scan(&mut self) -> Result<(), ControlError> {
        self.require_pending()?;
        if let Phase::Pending { picked_up, .. } = self.phase
            && !picked_up
        {
            self.phase = Phase::Pending {
                hint: HintCode::Started,
                picked_up: true,
                advance: true,
            };
        }
        Ok(())
    }

    /// The user approved in the app.
    pub(crate) fn approve(
        &mut self,
        approver: Approver,
        now: OffsetDateTime,
    ) -> Result<(), ControlError> {
        self.require_pending()?;
        self.phase = Phase::Complete { at: now, approver };
        Ok(())
    }

    /// The user pressed cancel in the app.
    pub(crate) fn cancel_by_user(&mut self, now: OffsetDateTime) -> Result<(), ControlError> {
        self.force_hint(HintCode::UserCancel, true, now)
    }

    /// Forces `hint`, pending or (when `failed`) final.
    pub(crate) fn force_hint(
        &mut self,
        hint: HintCode,
        failed: bool,
        now: OffsetDateTime,
    ) -> Result<(), ControlError> {
        self.require_pending()?;
        self.phase = if failed {
            Phase::Failed { at: now, hint }
        } else {
            let picked_up = !matches!(hint, HintCode::OutstandingTransaction | HintCode::NoClient);
            Phase::Pending {
                hint,
                picked_up,
                advance: false,
            }
        };
        Ok(())
    }

    /// Called after a collect reported the current state.
    pub(crate) fn collected(&mut self) {
        if let Phase::Pending {
            hint: HintCode::Started,
            picked_up: true,
            advance: true,
        } = self.phase
        {
            self.phase = Phase::Pending {
                hint: HintCode::UserSign,
                picked_up: true,
                advance: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn order() -> SimOrder {
        SimOrder::new(
            Kind::Auth,
            "192.0.2.1".parse().unwrap(),
            datetime!(2026-01-01 12:00 UTC),
            None,
        )
    }

    #[test]
    fn unscanned_order_fails_with_start_failed() {
        let mut o = order();
        o.refresh(o.created_at + Duration::seconds(29));
        assert!(o.is_pending());
        o.refresh(o.created_at + Duration::seconds(30));
        assert_eq!(o.hint(), Some(&HintCode::StartFailed));
        assert!(o.retained(o.created_at + Duration::seconds(30) + Duration::seconds(299)));
        assert!(!o.retained(o.created_at + Duration::seconds(30) + FAILED_RETENTION));
    }

    #[test]
    fn scanned_order_expires_after_three_minutes() {
        let mut o = order();
        o.scan().unwrap();
        assert_eq!(o.hint(), Some(&HintCode::Started));
        o.collected();
        assert_eq!(o.hint(), Some(&HintCode::UserSign));
        o.refresh(o.created_at + Duration::seconds(179));
        assert!(o.is_pending());
        o.refresh(o.created_at + Duration::seconds(181));
        assert_eq!(o.hint(), Some(&HintCode::ExpiredTransaction));
        assert_eq!(o.scan(), Err(ControlError::NotPending("failed")));
    }

    #[test]
    fn forced_no_client_still_needs_a_start() {
        let mut o = order();
        o.force_hint(HintCode::NoClient, false, o.created_at)
            .unwrap();
        o.collected();
        assert_eq!(o.hint(), Some(&HintCode::NoClient));
        o.refresh(o.created_at + Duration::seconds(31));
        assert_eq!(o.hint(), Some(&HintCode::StartFailed));
    }
}
