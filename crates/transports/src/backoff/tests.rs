//! Unit tests: the reconnect intervals of libzmq 4.3.5, attempt by attempt.

use super::*;

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

fn sequence(backoff: &mut Backoff, randoms: &[u32]) -> Vec<Option<Duration>> {
    randoms.iter().map(|&r| backoff.next_delay(r)).collect()
}

#[test]
fn default_is_100ms_plus_jitter_below_100ms() {
    let mut b = Backoff::default();
    assert!(b.is_enabled());
    assert_eq!(
        sequence(&mut b, &[0, 1, 99, 100, 250]),
        [ms(100), ms(101), ms(199), ms(100), ms(150)]
    );
}

#[test]
fn without_a_maximum_the_interval_never_grows() {
    let mut b = Backoff::new(250, 0);
    assert_eq!(sequence(&mut b, &[0; 5]), [ms(250); 5]);
}

#[test]
fn with_a_maximum_it_doubles_without_jitter_up_to_the_maximum() {
    let mut b = Backoff::new(100, 1000);
    let randoms = [7, 123, 999, 5, 1, 77];
    assert_eq!(
        sequence(&mut b, &randoms),
        [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
}

#[test]
fn a_maximum_below_the_interval_caps_every_delay() {
    // libzmq 4.3.5 takes min(candidate, max) even for the first attempt.
    let mut b = Backoff::new(500, 200);
    assert_eq!(sequence(&mut b, &[3, 3, 3]), [ms(200); 3]);
}

#[test]
fn reset_starts_over_after_a_successful_connection() {
    let mut b = Backoff::new(10, 1000);
    assert_eq!(sequence(&mut b, &[0, 0, 0]), [ms(10), ms(20), ms(40)]);
    b.reset();
    assert_eq!(sequence(&mut b, &[0, 0]), [ms(10), ms(20)]);
}

#[test]
fn minus_one_or_zero_means_never_reconnect() {
    for ivl in [-1, 0] {
        let mut b = Backoff::new(ivl, 1000);
        assert!(!b.is_enabled());
        assert_eq!(b.next_delay(42), None);
    }
}

#[test]
fn large_values_saturate_instead_of_overflowing() {
    let mut b = Backoff::new(i32::MAX - 1, i32::MAX);
    assert_eq!(b.next_delay(0), ms((i32::MAX - 1) as u64));
    assert_eq!(b.next_delay(0), ms(i32::MAX as u64));
    assert_eq!(b.next_delay(0), ms(i32::MAX as u64));

    let mut jittered = Backoff::new(i32::MAX, 0);
    assert_eq!(jittered.next_delay(u32::MAX), ms(i32::MAX as u64));
}

#[test]
fn negative_maximum_is_treated_as_none() {
    let mut b = Backoff::new(100, -5);
    assert_eq!(b.next_delay(30), ms(130));
    assert_eq!(b.next_delay(30), ms(130));
}
