//! One encoder, several threads: the engine's worker pool shares encoders freely.

use std::sync::Arc;

use station_codec::{Codec, PixelEncoder};

use crate::encode;
use crate::images::{colour, Mono};

#[test]
fn encoders_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<PixelEncoder>();
}

#[test]
fn concurrent_encodes_give_the_same_bytes_as_one_at_a_time() {
    let images = [
        Arc::new(
            Mono {
                frames: Some(4),
                ..Mono::new("mono", 128, 128, 16, 12)
            }
            .build(),
        ),
        Arc::new(colour("rgb", "RGB", 96, 96, Some(3), 8, true)),
    ];
    for codec in Codec::ALL {
        let expected: Vec<Vec<u8>> = images.iter().map(|i| encode(i, codec).2).collect();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let image = Arc::clone(&images[t % 2]);
                std::thread::spawn(move || {
                    (0..3).map(|_| encode(&image, codec).2).collect::<Vec<_>>()
                })
            })
            .collect();
        for (t, h) in handles.into_iter().enumerate() {
            for out in h.join().unwrap() {
                assert!(
                    out == expected[t % 2],
                    "thread {t} with {codec} wrote different bytes"
                );
            }
        }
    }
}
