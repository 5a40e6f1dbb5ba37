//! A guest's stdout/stderr: kept in memory up to a cap per call, then the
//! guest is stopped with a typed output-limit error (an output flood must not
//! cost the host memory or time).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Raised (as a trap) when a guest writes past its stdio cap.
#[derive(Debug, thiserror::Error)]
#[error("guest wrote more than {limit} bytes to {stream}")]
pub struct StdioLimitExceeded {
    pub stream: &'static str,
    pub limit: usize,
}

#[derive(Clone)]
pub struct CappedPipe {
    name: &'static str,
    limit: usize,
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: BytesMut,
    overflowed: bool,
}

impl CappedPipe {
    pub fn new(name: &'static str, limit: usize) -> CappedPipe {
        CappedPipe {
            name,
            limit,
            inner: Arc::default(),
        }
    }

    pub fn contents(&self) -> Bytes {
        match self.inner.lock() {
            Ok(c) => c.bytes.clone().freeze(),
            Err(_) => Bytes::new(),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn overflowed(&self) -> bool {
        self.inner.lock().map(|c| c.overflowed).unwrap_or(true)
    }

    fn append(&self, bytes: &[u8]) -> Result<(), StdioLimitExceeded> {
        let exceeded = StdioLimitExceeded {
            stream: self.name,
            limit: self.limit,
        };
        let Ok(mut c) = self.inner.lock() else {
            return Err(exceeded);
        };
        if c.bytes.len() + bytes.len() > self.limit {
            let room = self.limit - c.bytes.len();
            c.bytes.extend_from_slice(&bytes[..room]);
            c.overflowed = true;
            return Err(exceeded);
        }
        c.bytes.extend_from_slice(bytes);
        Ok(())
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes)
            .map_err(|e| StreamError::Trap(wasmtime::Error::new(e)))
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept a write: the cap is enforced (as a trap) in `write`,
        // so a flood is stopped rather than left spinning on a closed stream.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(
            self.append(buf)
                .map(|()| buf.len())
                .map_err(std::io::Error::other),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
