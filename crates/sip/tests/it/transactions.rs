//! Server transactions absorb retransmissions and repeat the response;
//! client transactions retransmit on RFC 3261's schedule.

use std::time::Duration;

use trygg_sip::{
    Arrival, ClientAction, ClientTransaction, Request, ServerTransactions, T1, T2, TIMER_F,
    TIMER_J, TransactionKey, retransmit_after,
};

use crate::{REGISTER, accept_request, sip};

fn register(branch: &str) -> Request {
    let via = format!("Via: SIP/2.0/UDP 10.0.0.23:5060;rport;branch={branch}");
    let mut lines = REGISTER.to_vec();
    lines[1] = &via;
    accept_request(sip(&lines, ""))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_udp_retransmission_gets_the_stored_response_until_timer_j() {
    let mut table = ServerTransactions::new(10);
    let request = register("z9hG4bK1");
    let Ok(Arrival::New(key)) = table.on_request(&request, false, ms(0)) else {
        panic!("not new");
    };
    // Before the response: absorbed.
    assert_eq!(
        table.on_request(&request, false, ms(400)),
        Ok(Arrival::Retransmission(None))
    );
    assert!(table.respond(&key, b"SIP/2.0 200 OK".to_vec(), ms(1_000)));
    assert_eq!(
        table.on_request(&request, false, ms(1_500)),
        Ok(Arrival::Retransmission(Some(b"SIP/2.0 200 OK".to_vec())))
    );
    // Still there just before Timer J fires, gone when it does.
    let j = ms(1_000) + TIMER_J;
    assert!(matches!(
        table.on_request(&request, false, j - ms(1)),
        Ok(Arrival::Retransmission(Some(_)))
    ));
    table.expire(j);
    assert!(table.is_empty());
    assert!(matches!(
        table.on_request(&request, false, j),
        Ok(Arrival::New(_))
    ));
}

#[test]
fn transactions_are_told_apart_by_branch_sent_by_and_method() {
    let mut table = ServerTransactions::new(10);
    let a = register("z9hG4bKa");
    assert!(matches!(
        table.on_request(&a, false, ms(0)),
        Ok(Arrival::New(_))
    ));
    assert!(matches!(
        table.on_request(&register("z9hG4bKb"), false, ms(0)),
        Ok(Arrival::New(_))
    ));
    // Same branch from another host.
    let mut lines = REGISTER.to_vec();
    lines[1] = "Via: SIP/2.0/UDP 10.0.0.24:5060;branch=z9hG4bKa";
    let other_host = accept_request(sip(&lines, ""));
    assert!(matches!(
        table.on_request(&other_host, false, ms(0)),
        Ok(Arrival::New(_))
    ));
    // Same branch and host, default port written out, other parameters:
    // the same transaction.
    lines[1] = "Via: SIP/2.0/UDP 10.0.0.23:5060;branch=z9hG4bKa;received=1.2.3.4";
    let same = accept_request(sip(&lines, ""));
    assert_eq!(TransactionKey::of(&same), TransactionKey::of(&a));
    // Same branch, other method.
    lines[0] = "OPTIONS sip:alarm.example.se SIP/2.0";
    lines[6] = "CSeq: 1 OPTIONS";
    let options = accept_request(sip(&lines, ""));
    assert!(matches!(
        table.on_request(&options, false, ms(0)),
        Ok(Arrival::New(_))
    ));
    assert_eq!(table.len(), 4);
}

#[test]
fn a_reliable_transaction_ends_with_its_response() {
    let mut table = ServerTransactions::new(10);
    let request = register("z9hG4bK1");
    let Ok(Arrival::New(key)) = table.on_request(&request, true, ms(0)) else {
        panic!("not new");
    };
    assert!(!table.respond(&key, b"SIP/2.0 200 OK".to_vec(), ms(10)));
    assert!(table.is_empty());
}

#[test]
fn an_unanswered_transaction_is_dropped_after_64_t1() {
    let mut table = ServerTransactions::new(10);
    let request = register("z9hG4bK1");
    let Ok(Arrival::New(key)) = table.on_request(&request, false, ms(0)) else {
        panic!("not new");
    };
    table.expire(TIMER_F);
    assert!(table.is_empty());
    // A late response finds nothing to store.
    assert!(!table.respond(&key, b"late".to_vec(), TIMER_F + ms(1)));
}

#[test]
fn a_full_table_says_so() {
    let mut table = ServerTransactions::new(2);
    assert!(matches!(
        table.on_request(&register("z9hG4bK1"), false, ms(0)),
        Ok(Arrival::New(_))
    ));
    assert!(matches!(
        table.on_request(&register("z9hG4bK2"), false, ms(0)),
        Ok(Arrival::New(_))
    ));
    assert_eq!(
        table.on_request(&register("z9hG4bK3"), false, ms(0)),
        Ok(Arrival::Full)
    );
    // Retransmissions are still recognised when full.
    assert_eq!(
        table.on_request(&register("z9hG4bK1"), false, ms(0)),
        Ok(Arrival::Retransmission(None))
    );
    // Capacity is capped.
    assert!(ServerTransactions::new(usize::MAX).is_empty());
    // Room again once the first have expired.
    assert!(matches!(
        table.on_request(&register("z9hG4bK3"), false, TIMER_F),
        Ok(Arrival::New(_))
    ));
    assert_eq!(table.len(), 1);
}

#[test]
fn client_retransmissions_double_from_t1_to_t2_until_timer_f() {
    assert_eq!(retransmit_after(0), T1);
    assert_eq!(retransmit_after(1), ms(1_000));
    assert_eq!(retransmit_after(2), ms(2_000));
    assert_eq!(retransmit_after(3), T2);
    assert_eq!(retransmit_after(40), T2);
    assert_eq!(TIMER_F, T1 * 64);
    let start = ms(10_000);
    let mut client = ClientTransaction::new(start, false);
    let mut sent = Vec::new();
    let mut now = start;
    loop {
        match client.poll(now) {
            ClientAction::Retransmit => sent.push((now - start).as_millis()),
            ClientAction::Wait(until) => {
                assert!(until > now);
                now = until;
            }
            ClientAction::TimedOut => break,
        }
    }
    assert_eq!(
        sent,
        [
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(now - start, TIMER_F);
    let mut reliable = ClientTransaction::new(start, true);
    assert_eq!(
        reliable.poll(start + ms(600)),
        ClientAction::Wait(start + TIMER_F)
    );
    assert_eq!(reliable.poll(start + TIMER_F), ClientAction::TimedOut);
}
