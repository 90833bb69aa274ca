//! The scenarios: our client or server against a C peer, on clean, lossy
//! and reordering links.

use super::*;

#[test]
fn our_client_and_a_c_server_exchange_streams_intact_and_close_on_a_clean_link() {
    let f = exchanges(Ours::Client, CLEAN, seeds(0, 20), 300_000);
    assert!(f.c_session_left_open.is_empty() && f.remote_config_lost.is_empty());
}

#[test]
fn our_client_and_a_c_server_exchange_streams_intact_on_a_lossy_link() {
    let f = exchanges(Ours::Client, LOSSY, seeds(10_000, 30), 300_000);
    assert!(
        f.c_session_left_open.is_empty() && f.remote_config_lost.is_empty(),
        "{f:?}"
    );
}

#[test]
fn our_server_and_a_c_client_exchange_streams_intact_and_close_on_a_clean_link() {
    exchanges(Ours::Server, CLEAN, seeds(20_000, 20), 300_000);
}

#[test]
fn our_server_and_a_c_client_exchange_streams_intact_and_close_on_a_lossy_link() {
    // A lost close frame is made good by the server's tombstone answer.
    exchanges(Ours::Server, LOSSY, seeds(30_000, 30), 300_000);
}

/// The C side's TCP peer ends its stream: the C session goes silent.
fn c_closes(seed: u64, ours: Ours, link: Link) {
    let mut s = setup(seed, ours, link, 150_000);
    if s.c_chunks.is_empty() {
        s.c_chunks.push(vec![0x5a; 1 + seed as usize % 3000]);
        s.c_gaps.push(Duration::ZERO);
    }
    s.our_eof = false;
    s.c_eof = if link.drop == 0 {
        CEof::AfterWriting
    } else {
        CEof::AfterAcked
    };
    let (sim, ctx) = run_checked(seed, s);
    assert!(
        matches!(sim.c_ended(), Some(LegacyEnd::LocalEof)),
        "C session did not end on its EOF: {ctx}"
    );
    let Some((CloseReason::LegacyPeerSilent, closed)) = sim.ours.closed else {
        panic!("our session did not close on the C peer's silence: {ctx}");
    };
    let silent = sim.c.last_sent.expect("the C side sent data");
    let heard = sim.ours.last_heard.expect("heard from the C side");
    assert!(
        closed >= heard + Duration::from_secs(5) && closed <= silent + Duration::from_secs(6),
        "closed {:?} after the C side went silent, {:?} after last hearing it: {ctx}",
        closed - silent,
        closed - heard
    );
    assert!(sim.ours.session.is_none(), "our session not done: {ctx}");
}

#[test]
fn when_the_c_side_closes_ours_delivers_everything_then_closes_on_its_silence() {
    for seed in seeds(40_000, 12) {
        c_closes(seed, Ours::Client, CLEAN);
        c_closes(seed, Ours::Server, CLEAN);
    }
    for seed in seeds(41_000, 12) {
        c_closes(seed, Ours::Client, LOSSY);
        c_closes(seed, Ours::Server, LOSSY);
    }
}

#[test]
fn an_early_local_eof_toward_a_c_peer_never_discards_what_it_sent() {
    // Our local peer sends a request and half-closes at once; the C side
    // answers with 5,000 bytes that our slow local reader takes 97 at a
    // time. Everything it sent is acknowledged before the answer is written
    // out: the close must wait until the answer has been.
    for seed in seeds(43_000, 8) {
        let mut s = setup(seed, Ours::Client, CLEAN, 1);
        s.our_stream = vec![7; 100];
        s.our_eof_at_once = true;
        s.c_chunks = (0..5).map(|i| vec![i as u8; 1000]).collect();
        s.c_gaps = vec![Duration::ZERO; 5];
        s.c_eof = CEof::Never;
        s.reader_chunk = 97;
        let (sim, ctx) = run_checked(seed, s);
        assert!(
            matches!(sim.ours.closed, Some((CloseReason::Finished, _))),
            "{ctx}"
        );
    }
}

#[test]
fn our_sender_never_exceeds_what_the_c_original_accepts() {
    // Our stream large in small frames, the C side quiet (it then acks only
    // in its 500 ms heartbeats): our window toward it is used to the limit.
    // `check_invariants` counts what the C model would drop or misread.
    let mut findings = Findings::default();
    for (i, link) in [CLEAN, LOSSY, REORDERING].into_iter().enumerate() {
        for seed in seeds(50_000 + 1000 * i as u64, 8) {
            for ours in [Ours::Client, Ours::Server] {
                let mut s = setup(seed, ours, link, 300_000);
                s.our_stream = bytes(&mut Rng::new(seed), 200_000 + seed as usize % 100_000);
                s.config.frame_data = [MIN_FRAME_DATA, 1000, MAX_FRAME_DATA][seed as usize % 3];
                s.config.window = 4096;
                s.c_chunks.truncate(seed as usize % 3);
                s.c_gaps.truncate(s.c_chunks.len());
                exchange(seed, s, &mut findings);
            }
        }
    }
}

/// Our client's close frame (ack `u64::MAX`) to a C server may be lost;
/// the C server has no timeout of its own, so every frame it still sends
/// must be answered with the close again, or its session (and its TCP
/// connection to the target) would stay open forever.
#[test]
fn a_lost_close_frame_still_closes_the_c_server_session() {
    let f = exchanges(Ours::Client, LOSSY, seeds(10_000, 30), 300_000);
    assert!(f.c_session_left_open.is_empty(), "{f:?}");
}

/// Our client carries the remote config only in its opening NO_DATA frame;
/// if that frame is lost and a data frame reached the C server first, the
/// session would be created without the config and dial the default
/// target. So no data goes out before the server side has answered.
#[test]
fn a_lost_opening_frame_still_delivers_the_remote_config() {
    let f = exchanges(Ours::Client, LOSSY, seeds(10_000, 60), 20_000);
    assert!(f.remote_config_lost.is_empty(), "{f:?}");
}

/// Replays one bidirectional run with a frame trace: `SIM_SEED=n
/// [SIM_OURS=server] [SIM_LINK=clean|lossy|reordering] [SIM_TRACE=1] cargo
/// test legacy_debug_seed -- --ignored --nocapture`.
#[test]
#[ignore]
fn legacy_debug_seed() {
    let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let ours = match std::env::var("SIM_OURS").as_deref() {
        Ok("server") => Ours::Server,
        _ => Ours::Client,
    };
    let link = match std::env::var("SIM_LINK").as_deref() {
        Ok("clean") => CLEAN,
        Ok("reordering") => REORDERING,
        _ => LOSSY,
    };
    let mut sim = Sim::new(seed, setup(seed, ours, link, 300_000));
    let ended = sim.run(Duration::from_secs(600));
    eprintln!("ended {ended}: {}", sim.ctx());
}
