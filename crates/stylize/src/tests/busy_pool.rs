//! A stylizer's questions that need no painting (the memory check) answer
//! while its thread pool is busy with a run: the web page asks them from
//! its one request thread, and a question waiting for the pool held every
//! request behind it until the run ended.

use std::sync::mpsc;
use std::time::Duration;

use crate::architecture::Architecture;
use crate::{StyleConfig, Stylizer};

use super::random;

#[test]
fn the_memory_check_answers_while_the_pool_is_busy() {
    let stylizer = Stylizer::new(&random::random_weights(Architecture::Vgg16, 8))
        .with_threads(1)
        .unwrap();
    let config = StyleConfig::gatys().with_size(64);
    let idle = stylizer
        .check_memory((80, 60), &[(64, 64)], &config)
        .unwrap();
    let (entered, wait_entered) = mpsc::channel();
    let (release, held) = mpsc::channel::<()>();
    let (answer, answered) = mpsc::channel();
    let config = &config;
    let stylizer = &stylizer;
    std::thread::scope(|s| {
        // The pool's one thread held, as a run holds it.
        s.spawn(move || {
            stylizer.install(move || {
                entered.send(()).unwrap();
                // Until the check has answered, or given up on.
                let _ = held.recv();
            });
        });
        wait_entered.recv().unwrap();
        s.spawn(move || {
            let _ = answer.send(stylizer.check_memory((80, 60), &[(64, 64)], config));
        });
        // Generous: the check takes microseconds when it does not wait.
        let busy = answered.recv_timeout(Duration::from_secs(30));
        release.send(()).unwrap();
        let busy = busy.expect("the memory check waited for the busy pool");
        assert_eq!(busy.unwrap(), idle, "the same estimate, busy or idle");
    });
}

/// The threads a stylizer paints on: its own pool's, else the global
/// pool's (what `stylize video` records for a run it may continue).
#[test]
fn a_stylizer_says_its_threads() {
    let weights = random::random_weights(Architecture::Vgg16, 8);
    assert_eq!(
        Stylizer::new(&weights).threads(),
        rayon::current_num_threads()
    );
    assert_eq!(
        Stylizer::new(&weights).with_threads(3).unwrap().threads(),
        3
    );
}
