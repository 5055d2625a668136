//! Byte queues for ciphertext, with storage lent by a per-thread pool.
//!
//! A connection holds storage only while bytes are queued: an empty queue
//! gives its storage back to the pool, so idle connections hold no I/O
//! buffers, and a busy connection gets the same warm memory back on its
//! next write or read instead of fresh pages from the kernel.

use std::cell::RefCell;

/// Smallest storage handed out.
const MIN_STORAGE: usize = 64 * 1024;
/// Storage kept in the pool: at most this many buffers, each at most
/// `POOL_MAX_SIZE` bytes.
const POOL_BUFFERS: usize = 4;
const POOL_MAX_SIZE: usize = 4 * 1024 * 1024;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn storage(min: usize) -> Vec<u8> {
    let pooled = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let index = pool.iter().position(|b| b.len() >= min)?;
        Some(pool.swap_remove(index))
    });
    pooled.unwrap_or_else(|| vec![0; min.max(MIN_STORAGE)])
}

fn give_back(buffer: Vec<u8>) {
    if buffer.is_empty() || buffer.len() > POOL_MAX_SIZE {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_BUFFERS {
            pool.push(buffer);
        }
    });
}

/// A FIFO of bytes. `data[start..end]` is queued; `data` is initialised
/// storage (its length is the capacity in use).
#[derive(Default)]
pub struct ByteQueue {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ByteQueue {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Room for `n` more bytes at the end; fill it, then [`ByteQueue::commit`].
    pub fn space(&mut self, n: usize) -> &mut [u8] {
        if self.data.is_empty() {
            self.data = storage(n);
        }
        if self.end + n > self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end + n > self.data.len() {
            let grown = (self.end + n).max(self.data.len() * 2);
            self.data.resize(grown, 0);
        }
        &mut self.data[self.end..self.end + n]
    }

    /// Keeps `n` bytes written into the last [`ByteQueue::space`].
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
        if self.is_empty() {
            self.release();
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.space(bytes.len()).copy_from_slice(bytes);
        self.commit(bytes.len());
    }

    /// Drops `n` bytes from the front.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.is_empty() {
            self.release();
        }
    }

    /// Takes everything queued.
    pub fn take_all(&mut self) -> Vec<u8> {
        let bytes = self.as_slice().to_vec();
        self.release();
        bytes
    }

    fn release(&mut self) {
        give_back(std::mem::take(&mut self.data));
        self.start = 0;
        self.end = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_across_growth_and_compaction() {
        let mut q = ByteQueue::default();
        let block: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        q.push(&block);
        q.consume(99_000);
        q.push(&block);
        let mut expected = block[99_000..].to_vec();
        expected.extend_from_slice(&block);
        assert_eq!(q.as_slice(), &expected[..]);
        assert_eq!(q.len(), expected.len());
    }

    #[test]
    fn empty_queue_holds_no_storage() {
        let mut q = ByteQueue::default();
        q.push(b"hello");
        q.consume(5);
        assert!(q.data.is_empty());
        let space = q.space(10);
        space[..3].copy_from_slice(b"abc");
        q.commit(3);
        assert_eq!(q.as_slice(), b"abc");
        assert_eq!(q.take_all(), b"abc");
        assert!(q.data.is_empty());
    }

    #[test]
    fn commit_of_nothing_releases() {
        let mut q = ByteQueue::default();
        let _ = q.space(100);
        q.commit(0);
        assert!(q.data.is_empty() && q.is_empty());
    }
}
