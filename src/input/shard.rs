//! `--shard K/N`: a stable split of the ids across machines. Depends on nothing else.

/// One slice of the ids, for splitting one input across several machines (`--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index of this shard (Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: u64,
    /// How many shards there are.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with `0 <= K < N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?} is not K/N"))?;
        let index: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: K is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "--shard {text:?}: K must be from 0 to N-1 (0-based, like JOB_COMPLETION_INDEX)"
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether `id` belongs to this shard. A fixed mix of the id (splitmix64), so the split is
    /// the same on every machine and every run, and even for sequential ids.
    #[must_use]
    pub fn owns(self, id: u64) -> bool {
        let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z % self.count == self.index
    }

    /// Lines that are not ids (invalid input) are reported by the first shard only.
    #[must_use]
    pub fn reports_invalid_lines(self) -> bool {
        self.index == 0
    }
}
