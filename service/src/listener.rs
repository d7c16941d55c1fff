//! The service's TCP listener, bounded against hostile clients: at most
//! [`Limits::connections`] open connections (further ones wait in the
//! kernel's backlog until one closes), and every connection is closed when
//! it sends nothing for [`Limits::idle`] or has lived [`Limits::lifetime`],
//! so half-open or trickling connections cannot hold the service's file
//! descriptors. Request and body deadlines are the HTTP layer's
//! ([`crate::http`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep, Instant, Sleep};

/// The listener's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open connections at most.
    pub connections: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle: Duration,
    /// A connection is closed after this long, whatever it does.
    pub lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: 256,
            idle: Duration::from_secs(15),
            lifetime: Duration::from_secs(120),
        }
    }
}

impl Limits {
    /// The defaults, with the connection cap kept to a quarter of this
    /// process's open-file limit, so connections never starve the log, the
    /// state and the proof files of descriptors.
    pub fn for_this_process() -> Self {
        let mut l = Self::default();
        if let Some(n) = open_file_limit() {
            l.connections = (n / 4).clamp(4, l.connections);
        }
        l
    }
}

/// The soft open-file limit (Linux `/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A [`TcpListener`] under [`Limits`].
pub struct Bounded {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    limits: Limits,
}

impl Bounded {
    /// Bounds `inner`.
    pub fn new(inner: TcpListener, limits: Limits) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limits.connections.max(1))),
            limits,
        }
    }
}

impl axum::serve::Listener for Bounded {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Wait for a free slot before taking a connection off the backlog.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    return (Guarded::new(io, permit, self.limits), addr);
                }
                // Too many open files and the like: back off, keep serving.
                Err(e) => {
                    tracing::warn!(stage = "listen", error = %e, "accept failed");
                    sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its slot, with idle and lifetime deadlines.
pub struct Guarded {
    io: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    idle_at: Pin<Box<Sleep>>,
    end: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(io: TcpStream, permit: OwnedSemaphorePermit, limits: Limits) -> Self {
        Self {
            io,
            _permit: permit,
            idle: limits.idle,
            idle_at: Box::pin(sleep(limits.idle)),
            end: Box::pin(sleep(limits.lifetime)),
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("connection {what}"))
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.idle_at.as_mut().reset(next);
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if self.end.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(timed_out("lived too long")));
                }
                if self.idle_at.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(timed_out("idle")));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
