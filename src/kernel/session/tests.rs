//! Sequence matching, the dump walk and error decoding on synthetic datagrams laid out as the
//! kernel sends them (see `fake.rs`).

use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_MULTIPART};

use super::*;
use crate::kernel::fake::*;
use crate::model::*;

fn session(fake: Fake) -> Session {
    Session::new(Box::new(fake), FAMILY, 64)
}

#[test]
fn walks_datagrams_by_aligned_lengths_and_sequence_numbers() {
    let a = service_reply(&Service::new(key("10.0.0.1", 80)));
    let b = service_reply(&Service::new(key("10.0.0.2", 80)));
    // Two replies and a leftover of an abandoned request (sequence 6) in one datagram,
    // then the last reply and NLMSG_DONE in another.
    let mut first = ipvs(7, NLM_F_MULTIPART, &a);
    first.extend(ipvs(6, NLM_F_MULTIPART, &b));
    first.extend(ipvs(7, NLM_F_MULTIPART, &b));
    let mut second = ipvs(7, NLM_F_MULTIPART, &a);
    second.extend(done(7, 0));
    let mut pending = [Pending::new(7)];
    absorb(&first, &mut pending).unwrap();
    assert_eq!(pending[0].replies.len(), 2);
    assert!(pending[0].done.is_none());
    absorb(&second, &mut pending).unwrap();
    assert_eq!(pending[0].done, Some(Ok(())));
    let got: Vec<IpvsMessage> = pending[0]
        .replies
        .iter()
        .map(|r| packet::parse_genl(r).unwrap())
        .collect();
    assert_eq!(got, [a.clone(), b.clone(), a]);
    // A length that runs past the datagram is an error, not a panic.
    let mut bad = ipvs(7, 0, &b);
    bad.truncate(bad.len() - 8);
    assert!(absorb(&bad, &mut [Pending::new(7)]).is_err());
}

#[test]
fn decodes_errors_and_their_extended_ack() {
    let req = Req {
        kind: FAMILY,
        flags: NLM_F_REQUEST | NLM_F_ACK,
        seq: 3,
        header: [0; 16],
        msg: None,
        channel: Channel::Main,
        reader: 0,
    };
    let mut p = [Pending::new(3)];
    absorb(&ack(&req, libc::EINVAL, Some("Invalid attribute")), &mut p).unwrap();
    assert_eq!(
        p[0].done,
        Some(Err(Failure::Refused {
            errno: libc::EINVAL,
            ext_ack: Some("Invalid attribute".into())
        }))
    );
    // Without NETLINK_CAP_ACK the whole request comes back before the TLVs.
    let request = packet::serialize(packet::flush(), FAMILY, NLM_F_REQUEST | NLM_F_ACK, 4);
    let mut payload = (-libc::ENOENT).to_ne_bytes().to_vec();
    payload.extend_from_slice(&request);
    payload.extend(tlv(NLMSGERR_ATTR_MSG, "no such thing"));
    payload.extend(tlv(2, "offset"));
    let mut p = [Pending::new(4)];
    absorb(&nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 4, &payload), &mut p).unwrap();
    assert_eq!(
        p[0].done,
        Some(Err(Failure::Refused {
            errno: libc::ENOENT,
            ext_ack: Some("no such thing".into())
        }))
    );
    // A plain ACK.
    let mut p = [Pending::new(3)];
    absorb(&ack(&req, 0, None), &mut p).unwrap();
    assert_eq!(p[0].done, Some(Ok(())));
    // A dump that fails after it started: NLMSG_DONE with a negative code.
    let mut p = [Pending::new(5)];
    absorb(
        &nlmsg(
            NLMSG_DONE,
            NLM_F_MULTIPART,
            5,
            &(-libc::EMSGSIZE).to_ne_bytes(),
        ),
        &mut p,
    )
    .unwrap();
    assert!(
        matches!(&p[0].done, Some(Err(Failure::Refused { errno, .. })) if *errno == libc::EMSGSIZE)
    );
    // An op's refusal keeps error.rs's explanation and adds the kernel's words.
    let op = Op::AddService(Box::new(Service::new(key("10.0.0.1", 80))));
    let e = Failure::Refused {
        errno: libc::EEXIST,
        ext_ack: Some("exists".into()),
    }
    .into_op_error(&op);
    assert_eq!(e.errno(), Some(libc::EEXIST));
    assert_eq!(
        e.reason(),
        "the service already exists (the kernel says: exists)"
    );
}

#[test]
fn a_long_leftover_among_the_acks_is_skipped_but_a_long_answer_is_an_error() {
    // A dump datagram of an abandoned request (a page long, another sequence number) comes
    // before the acks: skipped.
    let (fake, _) = Fake::new(|reqs: &[Req]| {
        let mut out = vec![nlmsg(FAMILY, NLM_F_MULTIPART, 7777, &[0; 4000])];
        out.extend(reqs.iter().map(|r| ack(r, 0, None)));
        out
    });
    assert!(session(fake).send_window(&ops(3)).iter().all(Result::is_ok));
    // A reply that long to one of the requests: its outcome cannot be read.
    let (fake, _) = Fake::new(|reqs: &[Req]| {
        let mut out = vec![nlmsg(NLMSG_ERROR, 0, reqs[1].seq, &[0; 4000])];
        out.extend(reqs.iter().map(|r| ack(r, 0, None)));
        out
    });
    let results = session(fake).send_window(&ops(3));
    assert!(results.iter().all(Result::is_err), "{results:?}");
    let Err(Failure::Decode(text)) = &results[1] else {
        panic!("{results:?}")
    };
    assert!(text.contains("too long"), "{text}");
    let e = results[1].clone().unwrap_err().into_op_error(&ops(3)[1]);
    assert!(e.outcome_unknown(), "{e}");
}

#[test]
fn a_request_the_kernel_sends_no_answer_to_has_an_unknown_outcome() {
    // The kernel sends no ACK for a request whose handler says EINTR (stopping a sync daemon
    // whose thread had not started): the others are answered, that one never is.
    let (fake, _) = Fake::new(|reqs: &[Req]| {
        reqs.iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, r)| ack(r, 0, None))
            .collect()
    });
    let results = session(fake).send_window(&ops(3));
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(results[1], Err(Failure::NoAnswer));
    let e = results[1].clone().unwrap_err().into_op_error(&ops(3)[1]);
    assert!(e.outcome_unknown(), "{e}");
    assert!(e.reason().contains("sent no answer"), "{e}");
}

#[test]
fn resolves_the_family_from_the_controller_reply() {
    let (fake, _) = Fake::new(|reqs: &[Req]| {
        let r = &reqs[0];
        // CTRL_CMD_NEWFAMILY: FAMILY_NAME "IPVS", FAMILY_ID 0x23, and an attribute the
        // controller crate would refuse.
        let mut payload = vec![1, 2, 0, 0];
        payload.extend(tlv(2, "IPVS"));
        payload.extend_from_slice(&[6, 0, 1, 0, 0x23, 0, 0, 0]);
        payload.extend_from_slice(&[8, 0, 99, 0, 1, 2, 3, 4]);
        vec![nlmsg(0x10, 0, r.seq, &payload), ack(r, 0, None)]
    });
    assert_eq!(session(fake).resolve_family().unwrap(), 0x23);
}
