//! A ring of slots indexed by sequence number, grown on demand up to a
//! capacity: a window that may hold thousands of frames costs a few slots
//! until a session actually has that many in flight. Slots hold no buffers
//! of their own (the windows' pools do), so growing moves small structs.

/// Slots for the sequence numbers `from..from + len`, `len` growing in
/// powers of two up to the capacity.
#[derive(Debug)]
pub struct Ring<T> {
    slots: Vec<T>,
    capacity: usize,
    /// The capacity it was made with.
    limit: usize,
}

/// Slots a ring starts with.
const FIRST: usize = 16;

impl<T: Default> Ring<T> {
    /// A ring for up to `capacity` sequence numbers at once.
    pub fn new(capacity: usize) -> Ring<T> {
        let capacity = capacity.max(1);
        let mut slots = Vec::new();
        slots.resize_with(FIRST.min(capacity), T::default);
        Ring {
            slots,
            capacity,
            limit: capacity,
        }
    }

    /// Sets the most sequence numbers the ring may grow to hold, within the
    /// capacity it was made with; never below the slots it has.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.clamp(self.slots.len(), self.limit);
    }

    /// The most sequence numbers the ring may hold at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The slots the ring has now: the sequence numbers `from..from + len`
    /// it can hold without growing.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    fn index(&self, seq: u64) -> usize {
        (seq % self.slots.len() as u64) as usize
    }

    pub fn get(&self, seq: u64) -> &T {
        &self.slots[self.index(seq)]
    }

    pub fn get_mut(&mut self, seq: u64) -> &mut T {
        let i = self.index(seq);
        &mut self.slots[i]
    }

    /// Makes room for `seq` while the oldest sequence number held is
    /// `from`; false if that is beyond the capacity.
    pub fn reserve(&mut self, from: u64, seq: u64) -> bool {
        let needed = seq.saturating_sub(from).saturating_add(1);
        if needed > self.capacity as u64 {
            return false;
        }
        let old = self.slots.len();
        if needed <= old as u64 {
            return true;
        }
        let mut len = old;
        while (len as u64) < needed {
            len *= 2;
        }
        let len = len.min(self.capacity);
        let mut slots = Vec::with_capacity(len);
        slots.resize_with(len, T::default);
        for s in from..from + old as u64 {
            let item = std::mem::take(&mut self.slots[(s % old as u64) as usize]);
            slots[(s % len as u64) as usize] = item;
        }
        self.slots = slots;
        true
    }

    /// Every slot, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut()
    }
}
