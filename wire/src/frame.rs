//! Length-delimited frames: a 4-byte big-endian length, then that many bytes of postcard.
//!
//! The length is checked against [`MAX_FRAME_LEN`] before anything is allocated, so a hostile peer
//! cannot make either side reserve memory by announcing a huge frame.

use serde::{Serialize, de::DeserializeOwned};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame either side accepts: 64 MiB, enough for a full snapshot of about 200,000
/// processes. Bigger snapshots are split by the runtime into several frames.
pub const MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer announced (or we tried to send) a frame above the limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The bytes were not a valid message of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(#[from] postcard::Error),
    /// The connection failed or closed mid-frame.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Encode one message as a complete frame (length prefix included).
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; 4];
    out = postcard::to_extend(msg, out)?;
    let len = out.len() - 4;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Decode the body of one frame (without its length prefix).
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    Ok(postcard::from_bytes(body)?)
}

/// Split a complete frame off the front of `buf`: `Ok(Some((message, bytes_used)))`, `Ok(None)` if
/// more bytes are needed. Used by fuzzers and by synchronous readers.
pub fn decode<T: DeserializeOwned>(
    buf: &[u8],
    max: usize,
) -> Result<Option<(T, usize)>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    Ok(Some((decode_body(&buf[4..4 + len])?, 4 + len)))
}

/// Read one frame. `Ok(None)` on a clean end of stream between frames.
///
/// Cancel safety: not cancel safe; a frame partly read is lost if the future is dropped. Callers
/// keep one read future alive per connection.
pub async fn read<T, R>(reader: &mut R, max: usize) -> Result<Option<T>, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    decode_body(&body).map(Some)
}

/// Write one frame and flush it.
///
/// Cancel safety: not cancel safe; a frame may be partly written if the future is dropped, after
/// which the connection must be closed.
pub async fn write<T, W>(writer: &mut W, msg: &T) -> Result<(), FrameError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    write_encoded(writer, &encode(msg)?).await
}

/// Write one frame already made by [`encode`] (length prefix included) and flush it: a frame
/// sent to many peers is encoded once and written to each.
///
/// Cancel safety: as [`write()`].
pub async fn write_encoded<W>(writer: &mut W, frame: &[u8]) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
{
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}

/// The most bytes [`write_encoded_in_pieces`] hands the writer at once: copying 128 KiB into a
/// socket takes tens of microseconds, where a whole multi-megabyte frame in one call would hold
/// the task's worker for milliseconds.
pub const WRITE_PIECE: usize = 128 * 1024;

/// Write one frame already made by [`encode`], at most `piece` bytes per write call, letting
/// the scheduler run other tasks between two pieces, then flush. A server sending snapshots of
/// many megabytes uses it so that no single write holds a worker for long; the bytes on the
/// wire are those of [`write_encoded`].
///
/// Cancel safety: as [`write()`]. A timeout around it covers the whole frame.
pub async fn write_encoded_in_pieces<W>(
    writer: &mut W,
    frame: &[u8],
    piece: usize,
) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
{
    let mut pieces = frame.chunks(piece.max(1)).peekable();
    while let Some(p) = pieces.next() {
        writer.write_all(p).await?;
        if pieces.peek().is_some() {
            tokio::task::yield_now().await;
        }
    }
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientMsg, Hello, PROTOCOL_VERSION};

    fn hello() -> ClientMsg {
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            token: None,
            client: "test".into(),
        })
    }

    #[test]
    fn round_trips_and_reports_partial_frames() {
        let bytes = encode(&hello()).unwrap();
        assert!(
            decode::<ClientMsg>(&bytes[..3], MAX_FRAME_LEN)
                .unwrap()
                .is_none()
        );
        assert!(
            decode::<ClientMsg>(&bytes[..bytes.len() - 1], MAX_FRAME_LEN)
                .unwrap()
                .is_none()
        );
        let (msg, used) = decode::<ClientMsg>(&bytes, MAX_FRAME_LEN).unwrap().unwrap();
        assert_eq!(msg, hello());
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        assert!(matches!(
            decode::<ClientMsg>(&bytes, MAX_FRAME_LEN),
            Err(FrameError::TooLarge {
                len: 0xffff_ffff,
                ..
            })
        ));
    }

    #[test]
    fn garbage_body_is_malformed_not_a_panic() {
        let bytes = [0, 0, 0, 3, 0xee, 0xee, 0xee];
        assert!(matches!(
            decode::<ClientMsg>(&bytes, MAX_FRAME_LEN),
            Err(FrameError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn async_read_write_round_trip_and_clean_eof() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        write(&mut a, &hello()).await.unwrap();
        drop(a);
        assert_eq!(
            read::<ClientMsg, _>(&mut b, MAX_FRAME_LEN).await.unwrap(),
            Some(hello())
        );
        assert_eq!(
            read::<ClientMsg, _>(&mut b, MAX_FRAME_LEN).await.unwrap(),
            None
        );
    }

    /// A writer that takes everything it is given and remembers the size of each call.
    #[derive(Default)]
    struct Recorder {
        bytes: Vec<u8>,
        calls: Vec<usize>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.calls.push(buf.len());
            self.bytes.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// A frame of a few megabytes reaches the writer in calls of at most one piece, the same
    /// bytes as one `write_encoded`, and another task runs between two pieces.
    #[tokio::test(flavor = "current_thread")]
    async fn a_big_frame_is_written_in_pieces_that_yield() {
        let body: Vec<u8> = (0..5 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
        let frame = encode(&body).unwrap();
        let mut whole = Recorder::default();
        write_encoded(&mut whole, &frame).await.unwrap();
        let turns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let turns = turns.clone();
            async move {
                loop {
                    turns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        tokio::task::yield_now().await;
        let before = turns.load(std::sync::atomic::Ordering::Relaxed);
        let mut pieces = Recorder::default();
        write_encoded_in_pieces(&mut pieces, &frame, WRITE_PIECE)
            .await
            .unwrap();
        let ran = turns.load(std::sync::atomic::Ordering::Relaxed) - before;
        ticker.abort();
        assert_eq!(pieces.bytes, whole.bytes);
        assert_eq!(pieces.bytes, frame);
        assert!(
            pieces.calls.iter().all(|&n| n <= WRITE_PIECE),
            "{:?}",
            pieces.calls
        );
        let count = frame.len().div_ceil(WRITE_PIECE);
        assert_eq!(pieces.calls.len(), count);
        assert!(
            ran >= count - 1,
            "the ticker ran {ran} times over {count} pieces"
        );
        let mut small = Recorder::default();
        write_encoded_in_pieces(&mut small, &frame[..10], WRITE_PIECE)
            .await
            .unwrap();
        assert_eq!(small.calls, [10]);
    }

    #[tokio::test]
    async fn async_read_refuses_oversized_frames() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&[0, 0, 1, 0, 1]).await.unwrap();
        assert!(matches!(
            read::<ClientMsg, _>(&mut b, 16).await,
            Err(FrameError::TooLarge { len: 256, max: 16 })
        ));
    }
}
