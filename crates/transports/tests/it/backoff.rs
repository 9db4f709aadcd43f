//! The reconnect policy through the public API, as a socket layer would drive it.

use std::time::Duration;

use transports::Backoff;

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

#[test]
fn exponential_backoff_grows_to_the_maximum_and_resets_after_success() {
    let mut backoff = Backoff::new(100, 1500);
    let delays: Vec<_> = (0..6).map(|i| backoff.next_delay(i * 37)).collect();
    assert_eq!(
        delays,
        [ms(100), ms(200), ms(400), ms(800), ms(1500), ms(1500)]
    );
    backoff.reset();
    assert_eq!(backoff.next_delay(0), ms(100));
}

#[test]
fn default_policy_adds_the_supplied_jitter() {
    let mut backoff = Backoff::default();
    assert_eq!(backoff.next_delay(42), ms(142));
    assert_eq!(backoff.next_delay(1042), ms(142));
    assert_eq!(backoff.next_delay(0), ms(100));
}

#[test]
fn reconnect_ivl_minus_one_never_reconnects() {
    let mut backoff = Backoff::new(-1, 0);
    assert!(!backoff.is_enabled());
    assert_eq!(backoff.next_delay(0), None);
}
