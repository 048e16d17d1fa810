//! The frames of one stream transcoded on several threads: decompression on one, framing
//! and the in-order writing on the caller's, and encoding on `threads` workers. The output
//! is byte for byte the one-thread output, and so is the error: the first failing message
//! in input order fails the stream, the lines before it are written and none after it.
//!
//! Frames go to the workers in batches (a few hundred small messages, or one big one), so a
//! hand-over costs little against the work; a bounded number of batches is in flight, so
//! memory stays bounded whatever the stream's length.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::Mutex;

use super::error::Error;
use super::stream::{decompress_on, frames_of, place, transcode_stream_pipelined};
use super::{StreamOptions, StreamStats};
use crate::framing::Frame;
use crate::output::{Append, Encode, MakeEncoder, Sink, SinkError};

/// A batch closes at this many frames...
const BATCH_FRAMES: usize = 512;
/// ...or once its frames hold this many bytes.
const BATCH_BYTES: usize = 256 << 10;
/// Batches in flight per worker (queued, being encoded, or waiting to be written in order)...
const IN_FLIGHT_PER_WORKER: usize = 3;
/// ...and their input bytes at most (big messages make big batches), unless only one is.
const IN_FLIGHT_BYTES: usize = 8 << 20;

/// Frames for one worker: their bytes back to back, and where each came from.
#[derive(Default)]
struct Batch {
    seq: u64,
    data: Vec<u8>,
    frames: Vec<FrameAt>,
    /// The output buffer the worker fills (recycled with the batch).
    out: Vec<u8>,
}

#[derive(Clone, Copy)]
struct FrameAt {
    index: u64,
    offset: u64,
    /// End of the frame's bytes in `data` (it starts where the previous one ends).
    end: usize,
    /// End of its output in `out`, once encoded.
    out_end: usize,
}

impl Batch {
    fn push(&mut self, frame: &Frame<'_>) {
        self.data.extend_from_slice(frame.data);
        self.frames.push(FrameAt {
            index: frame.index,
            offset: frame.offset,
            end: self.data.len(),
            out_end: 0,
        });
    }

    fn is_full(&self) -> bool {
        self.frames.len() >= BATCH_FRAMES || self.data.len() >= BATCH_BYTES
    }
}

/// A worker's result: the batch with its output, and the first message that failed (its
/// position in the batch; the output holds the messages before it).
struct Done {
    batch: Batch,
    failed: Option<(usize, Failure)>,
}

enum Failure {
    Sink(SinkError),
    /// A worker panicked: re-raised on the caller's thread, where the one-thread path would
    /// have panicked (the service fails that one record).
    Panic(Box<dyn std::any::Any + Send>),
}

/// As [`transcode_stream_pipelined`], with the messages encoded on `threads` threads when
/// the sink can be split ([`Sink::split`]); otherwise, or with fewer than two threads, it
/// is exactly that.
pub fn transcode_stream_parallel<R: Read + Send>(
    name: &str,
    input: R,
    options: &StreamOptions,
    sink: &mut dyn Sink,
    threads: usize,
) -> Result<StreamStats, Error> {
    if threads < 2 {
        return transcode_stream_pipelined(name, input, options, sink);
    }
    let Some(split) = sink.split() else {
        return transcode_stream_pipelined(name, input, options, sink);
    };
    // Outside the scope: the workers borrow the receiver. The sender moves into the scope
    // and is dropped there, on every path, which is what lets the workers end.
    let (job_tx, job_rx) = sync_channel::<Batch>(threads);
    let job_rx = Mutex::new(job_rx);
    let (messages, bytes_in) = std::thread::scope(|scope| {
        let job_tx = job_tx;
        let chunks = decompress_on(scope, input, options);
        let (done_tx, done_rx) = channel::<Done>();
        // The workers start with the first full batch: a stream shorter than one batch (a
        // single small object, say) is encoded here, without the threads' start-up.
        let mut started = false;
        let mut ordered = Ordered {
            name,
            writer: split.writer,
            done: done_rx,
            pending: BTreeMap::new(),
            next: 0,
            in_flight: 0,
            bytes_in_flight: 0,
            free: Vec::new(),
            messages: 0,
        };
        let mut batch = Batch::default();
        let mut sent = 0u64;
        // An error from `ordered` is a message's, in input order: it ends the stream at once.
        // One from the framer comes after every frame already batched, so those go first.
        let mut failed_in_order = false;
        let framed = frames_of(name, chunks, options, |frame| {
            batch.push(&frame);
            if batch.is_full() {
                if !started {
                    for _ in 0..threads {
                        let (job_rx, done_tx, encoders) =
                            (&job_rx, done_tx.clone(), split.encoders);
                        scope.spawn(move || work(encoders, job_rx, &done_tx));
                    }
                    started = true;
                }
                let next = ordered.fresh(sent + 1);
                ordered.sending(&batch);
                send(&job_tx, std::mem::replace(&mut batch, next), &mut sent);
                ordered
                    .write_ready(threads * IN_FLIGHT_PER_WORKER)
                    .inspect_err(|_| failed_in_order = true)?;
            }
            Ok(())
        });
        let result = match framed {
            Err(e) if failed_in_order => Err(e),
            framed => {
                if !batch.frames.is_empty() {
                    ordered.sending(&batch);
                    if started {
                        send(&job_tx, batch, &mut sent);
                    } else {
                        // The whole stream is this one batch: encoded on this thread (a panic
                        // here is this thread's, as on the one-thread path).
                        let failed = encode_batch(&mut *split.encoders.encoder(), &mut batch)
                            .map(|(i, e)| (i, Failure::Sink(e)));
                        ordered.pending.insert(batch.seq, Done { batch, failed });
                    }
                }
                drop(job_tx);
                ordered.write_ready(0).and(framed)
            }
        };
        result.map(|bytes_in| (ordered.messages, bytes_in))
        // Leaving the scope: the job sender is gone, so the workers stop once their batch is
        // done; the decompressor stops when its reader (the framer's) is dropped.
    })?;
    Ok(StreamStats {
        messages,
        bytes_in,
        bytes_out: sink.bytes_out(),
    })
}

fn send(jobs: &std::sync::mpsc::SyncSender<Batch>, batch: Batch, sent: &mut u64) {
    // The workers hold the receiver for the whole scope, so this only fails if all of them
    // died, which `work` prevents (a panic is caught and reported as a result).
    let _ = jobs.send(batch);
    *sent += 1;
}

/// One worker: encodes batches until the job channel closes.
fn work(
    encoders: &(dyn MakeEncoder + Sync),
    jobs: &Mutex<Receiver<Batch>>,
    done: &std::sync::mpsc::Sender<Done>,
) {
    let mut encoder = encoders.encoder();
    loop {
        // The lock is held only while waiting for the next batch.
        let Ok(mut batch) = jobs
            .lock()
            .map_err(drop)
            .and_then(|rx| rx.recv().map_err(drop))
        else {
            return;
        };
        let outcome =
            panic::catch_unwind(AssertUnwindSafe(|| encode_batch(&mut *encoder, &mut batch)));
        let failed = match outcome {
            Ok(failed) => failed.map(|(i, e)| (i, Failure::Sink(e))),
            Err(payload) => {
                // The encoder may be left inconsistent: a fresh one for the next batch.
                encoder = encoders.encoder();
                Some((0, Failure::Panic(payload)))
            }
        };
        if done.send(Done { batch, failed }).is_err() {
            return; // the stream already ended
        }
    }
}

/// Encodes the frames of `batch` into its output, in order, up to the first that fails
/// (returned with its position; the output holds the ones before it).
fn encode_batch(encoder: &mut dyn Encode, batch: &mut Batch) -> Option<(usize, SinkError)> {
    let mut start = 0;
    for (i, f) in batch.frames.iter_mut().enumerate() {
        let mark = batch.out.len();
        if let Err(e) = encoder.encode(&batch.data[start..f.end], &mut batch.out) {
            batch.out.truncate(mark);
            return Some((i, e));
        }
        f.out_end = batch.out.len();
        start = f.end;
    }
    None
}

/// The writing end: results come back in any order and are appended in input order.
struct Ordered<'a, 'w> {
    name: &'a str,
    writer: &'w mut dyn Append,
    done: Receiver<Done>,
    /// Results that came back before their turn.
    pending: BTreeMap<u64, Done>,
    /// The sequence number to write next.
    next: u64,
    /// Batches sent and not yet written, and their input bytes.
    in_flight: usize,
    bytes_in_flight: usize,
    /// Spent batches, for reuse.
    free: Vec<Batch>,
    /// Messages written.
    messages: u64,
}

impl Ordered<'_, '_> {
    /// An empty batch with sequence number `seq` (a spent one when there is one).
    fn fresh(&mut self, seq: u64) -> Batch {
        let mut b = self.free.pop().unwrap_or_default();
        b.data.clear();
        b.frames.clear();
        b.out.clear();
        b.seq = seq;
        b
    }

    fn sending(&mut self, batch: &Batch) {
        self.in_flight += 1;
        self.bytes_in_flight += batch.data.len();
    }

    /// Writes every result whose turn has come; waits for results while more than `max`
    /// batches, or more than [`IN_FLIGHT_BYTES`] in more than one batch, are in flight
    /// (`max` 0: until all are written).
    fn write_ready(&mut self, max: usize) -> Result<(), Error> {
        loop {
            while let Some(done) = self.pending.remove(&self.next) {
                self.write(done)?;
            }
            let over = self.in_flight > max
                || (self.in_flight > 1 && self.bytes_in_flight > IN_FLIGHT_BYTES);
            let got = if over {
                match self.done.recv() {
                    Ok(done) => done,
                    // Unreachable while batches are in flight (workers live until the job
                    // channel closes); kept total.
                    Err(_) => return Ok(()),
                }
            } else {
                match self.done.try_recv() {
                    Ok(done) => done,
                    Err(_) => return Ok(()),
                }
            };
            self.pending.insert(got.batch.seq, got);
        }
    }

    fn write(&mut self, done: Done) -> Result<(), Error> {
        self.next += 1;
        self.in_flight -= 1;
        self.bytes_in_flight -= done.batch.data.len();
        let Done { batch, failed } = done;
        let written = failed.as_ref().map_or(batch.frames.len(), |(i, _)| *i);
        let mut start = 0;
        for f in &batch.frames[..written] {
            self.writer
                .append(&batch.out[start..f.out_end])
                .map_err(|e| place(self.name, f.index, f.offset, e))?;
            self.messages += 1;
            start = f.out_end;
        }
        if let Some((i, failure)) = failed {
            let f = batch.frames[i];
            match failure {
                Failure::Sink(e) => return Err(place(self.name, f.index, f.offset, e)),
                Failure::Panic(payload) => panic::resume_unwind(payload),
            }
        }
        self.free.push(batch);
        Ok(())
    }
}
