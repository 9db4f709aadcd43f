//! Which options each socket type accepts: libzmq's `xsetsockopt` overrides, falling back to
//! the generic options (HWMs, CONFLATE, INVERT_MATCHING), EINVAL otherwise.

use super::*;
use crate::OptionError;

fn accepts(t: SocketType, option: PatternOption) -> bool {
    let mut s = socket(t);
    match s.set_option(now(), option) {
        Ok(()) => true,
        Err(OptionError::NotApplicable { socket_type, .. }) => {
            assert_eq!(socket_type, t);
            false
        }
        Err(other) => panic!("{t}: {other}"),
    }
}

#[test]
fn socket_specific_options_are_refused_by_other_types() {
    use SocketType::*;
    let table: Vec<(PatternOption, &[SocketType])> = vec![
        (PatternOption::ReqRelaxed(true), &[Req]),
        (PatternOption::ReqCorrelate(true), &[Req]),
        (PatternOption::RouterMandatory(true), &[Router, Rep]),
        (PatternOption::RouterHandover(true), &[Router, Rep]),
        (
            PatternOption::ProbeRouter(true),
            &[Router, Rep, Dealer, Req],
        ),
        (PatternOption::XPubVerbose(true), &[XPub, Pub]),
        (PatternOption::XPubVerboser(true), &[XPub, Pub]),
        (PatternOption::XPubNoDrop(true), &[XPub, Pub, Radio]),
        (PatternOption::XPubManual(true), &[XPub, Pub]),
        (PatternOption::XPubManualLastValue(true), &[XPub, Pub]),
        (PatternOption::XPubWelcomeMsg(None), &[XPub, Pub]),
        (PatternOption::Subscribe(b(b"t")), &[Sub]),
        (PatternOption::Unsubscribe(b(b"t")), &[Sub]),
        (PatternOption::Join(b(b"g")), &[Dish]),
        (PatternOption::StreamNotify(false), &[Stream]),
    ];
    for (option, accepted_by) in table {
        for t in SocketType::ALL {
            if t == Dgram {
                continue;
            }
            assert_eq!(
                accepts(t, option.clone()),
                accepted_by.contains(&t),
                "{option:?} on {t}"
            );
        }
    }
}

#[test]
fn generic_options_are_accepted_by_every_type() {
    for t in SocketType::ALL {
        if t == SocketType::Dgram {
            continue;
        }
        for option in [
            PatternOption::SndHwm(10),
            PatternOption::RcvHwm(0),
            PatternOption::Conflate(true),
            PatternOption::InvertMatching(true),
        ] {
            assert!(accepts(t, option.clone()), "{option:?} on {t}");
        }
    }
}

#[test]
fn xpub_subscribe_is_accepted_only_in_manual_mode() {
    let mut s = socket(SocketType::XPub);
    assert!(
        s.set_option(now(), PatternOption::Subscribe(b(b"t")))
            .is_err()
    );
    set(&mut s, PatternOption::XPubManual(true));
    set(&mut s, PatternOption::Subscribe(b(b"t"))); // no last pipe yet: a no-op, as libzmq
}
