//! A Merkle tree over the audit events with RFC 9162 §2.1 hashing (the hashing of Certificate
//! Transparency and the transparency-dev ecosystem): a leaf is `SHA-256(0x00 ‖ data)`, an
//! interior node `SHA-256(0x01 ‖ left ‖ right)`, the root of `n` leaves `MTH(D[n])` splits at
//! the largest power of two below `n`. Inclusion proofs show one event is in a tree of a given
//! size with at most ⌈log₂ n⌉ hashes; consistency proofs show a larger tree extends a smaller
//! one, without reading what lies between.
//!
//! The tree is kept as its *perfect subtrees*: node `(level, index)` is the root of leaves
//! `index·2^level .. (index+1)·2^level`. Appending a leaf adds it at level 0 and every node it
//! completes above it; the root of any size, and every proof, is built from such nodes
//! ([`Nodes`]), so a proof reads O(log² n) stored hashes and never the events.
//!
//! Generation follows RFC 9162's recursive definitions (`MTH`, `PATH`, `PROOF`); verification
//! follows its iterative algorithms (§2.1.3.2, §2.1.4.2), so the two are written independently
//! and the tests hold each to the other and to the transparency-dev reference roots.

use ring::digest::{Context, SHA256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

fn digest(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    digest(&[&[0x00], data])
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    digest(&[&[0x01], left, right])
}

/// The root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    digest(&[])
}

/// The largest power of two strictly below `n` (for `n ≥ 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Where the hashes of perfect subtrees come from: the database, or memory.
pub trait Nodes {
    type Error;

    /// The root of leaves `index·2^level .. (index+1)·2^level`; it exists for every such range
    /// inside the tree's size.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof does not verify, or cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {old} is larger than tree size {new}")]
    SizesReversed { old: u64, new: u64 },
    #[error("the proof has {got} hashes; this proof needs {want}")]
    WrongLength { got: usize, want: usize },
    #[error("the proof has more hashes than the tree sizes allow")]
    TooLong,
    #[error("the proof has fewer hashes than the tree sizes need")]
    TooShort,
    #[error("the proof does not lead to the given root")]
    RootMismatch,
    #[error("the proof's old root does not match the given old root")]
    OldRootMismatch,
}

/// `MTH(D[begin:end])`: the root of the leaves `begin..end`, where `begin` is a multiple of
/// the largest power of two not above `end - begin` (as every range in RFC 9162's recursion is).
pub fn range_root<N: Nodes>(nodes: &mut N, begin: u64, end: u64) -> Result<Hash, N::Error> {
    let n = end - begin;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && begin.is_multiple_of(n) {
        return nodes.node(n.trailing_zeros(), begin / n);
    }
    let k = split(n);
    let left = range_root(nodes, begin, begin + k)?;
    let right = range_root(nodes, begin + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
pub fn root<N: Nodes>(nodes: &mut N, size: u64) -> Result<Hash, N::Error> {
    range_root(nodes, 0, size)
}

/// RFC 9162 `PATH(m, D[n])`: the inclusion proof of leaf `index` in the tree of `size` leaves,
/// leaf-side first.
pub fn inclusion_proof<N: Nodes>(
    nodes: &mut N,
    index: u64,
    size: u64,
) -> Result<Result<Vec<Hash>, ProofError>, N::Error> {
    if index >= size {
        return Ok(Err(ProofError::IndexOutOfRange { index, size }));
    }
    let mut proof = Vec::new();
    path(nodes, index, 0, size, &mut proof)?;
    Ok(Ok(proof))
}

/// `PATH(m, D[begin:end])`, appending leaf-side first.
fn path<N: Nodes>(
    nodes: &mut N,
    m: u64,
    begin: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - begin;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(nodes, m, begin, begin + k, out)?;
        out.push(range_root(nodes, begin + k, end)?);
    } else {
        path(nodes, m - k, begin + k, end, out)?;
        out.push(range_root(nodes, begin, begin + k)?);
    }
    Ok(())
}

/// RFC 9162 `PROOF(m, D[n])`: the consistency proof from the tree of `old` leaves to the tree
/// of `new` leaves. Empty when `old` is 0 or equal to `new` (nothing to prove).
pub fn consistency_proof<N: Nodes>(
    nodes: &mut N,
    old: u64,
    new: u64,
) -> Result<Result<Vec<Hash>, ProofError>, N::Error> {
    if old > new {
        return Ok(Err(ProofError::SizesReversed { old, new }));
    }
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(nodes, old, 0, new, true, &mut proof)?;
    }
    Ok(Ok(proof))
}

/// `SUBPROOF(m, D[begin:end], b)`, appending.
fn subproof<N: Nodes>(
    nodes: &mut N,
    m: u64,
    begin: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - begin;
    if m == n {
        if !whole {
            out.push(range_root(nodes, begin, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, begin, begin + k, whole, out)?;
        out.push(range_root(nodes, begin + k, end)?);
    } else {
        subproof(nodes, m - k, begin + k, end, false, out)?;
        out.push(range_root(nodes, begin, begin + k)?);
    }
    Ok(())
}

/// The number of hashes in an inclusion proof of `index` in a tree of `size` (RFC 9162's
/// inner and border parts).
fn inclusion_length(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.3.2: does `proof` show the leaf `leaf` at `index` in the tree of `size` whose
/// root is `root`?
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_length(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::TooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `new` leaves with root `new_root`
/// extends the tree of `old` leaves with root `old_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesReversed { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if old == new && old_root != new_root {
            Err(ProofError::RootMismatch)
        } else {
            Ok(())
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::TooShort);
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::TooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::TooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// A whole tree in memory: every perfect subtree, level by level.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf (its hash) and returns the nodes it completed, as `(level, index, hash)`
    /// from the leaf up: what a store must add for this leaf.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let mut added = Vec::new();
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            let index = row.len() as u64;
            row.push(hash);
            added.push((level as u32, index, hash));
            if index.is_multiple_of(2) {
                return added;
            }
            hash = node_hash(&row[row.len() - 2], &hash);
            level += 1;
        }
    }
}

impl Nodes for MemoryTree {
    type Error = std::convert::Infallible;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        Ok(self.levels[level as usize][index as usize])
    }
}

/// The nodes a store adds when the leaf at `index` (with hash `leaf`) is appended, given the
/// stored nodes: the leaf, then each parent it completes.
pub fn nodes_completed_by<N: Nodes>(
    nodes: &mut N,
    index: u64,
    leaf: Hash,
) -> Result<Vec<(u32, u64, Hash)>, N::Error> {
    let mut added = vec![(0, index, leaf)];
    let (mut level, mut at, mut hash) = (0u32, index, leaf);
    while at % 2 == 1 {
        let left = nodes.node(level, at - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        at /= 2;
        added.push((level, at, hash));
    }
    Ok(added)
}

/// The perfect subtrees that cover leaves `0..size`, largest (leftmost) first: the tree's
/// right border. Every node a new leaf completes has its left siblings among them (or among
/// the nodes added since).
pub fn border(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            out.push((level, start >> level));
            start += 1 << level;
        }
    }
    out
}

/// A tree growing from its border: the nodes leaves complete, to be stored with the leaves'
/// events, and the border after them.
#[derive(Clone, Debug, Default)]
pub struct Growth {
    known: std::collections::HashMap<(u32, u64), Hash>,
    size: u64,
    /// Every node added, in order: `(level, index, hash)`.
    pub added: Vec<(u32, u64, Hash)>,
}

/// A node the growth needed but does not have: its border was incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("tree node ({0}, {1}) is missing")]
pub struct MissingNode(pub u32, pub u64);

impl Growth {
    /// A tree of `size` leaves whose border nodes are `border_nodes`.
    pub fn new(size: u64, border_nodes: impl IntoIterator<Item = (u32, u64, Hash)>) -> Self {
        Self {
            known: border_nodes
                .into_iter()
                .map(|(level, index, hash)| ((level, index), hash))
                .collect(),
            size,
            added: Vec::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (its hash). Only the border is kept: memory stays O(log n) however
    /// many leaves are pushed (a million-event catch-up holds about twenty hashes).
    pub fn push(&mut self, leaf: Hash) -> Result<(), MissingNode> {
        let added = nodes_completed_by(self, self.size, leaf)?;
        for (level, index, hash) in added {
            self.known.insert((level, index), hash);
            self.added.push((level, index, hash));
        }
        self.size += 1;
        let keep = border(self.size);
        self.known.retain(|at, _| keep.contains(at));
        Ok(())
    }

    /// Its border's nodes, in border order.
    pub fn border_nodes(&self) -> Vec<(u32, u64, Hash)> {
        border(self.size)
            .into_iter()
            .filter_map(|at| self.known.get(&at).map(|hash| (at.0, at.1, *hash)))
            .collect()
    }

    /// How many nodes it holds (its border's).
    pub fn held(&self) -> usize {
        self.known.len()
    }

    /// The root of the tree as grown.
    pub fn root(&mut self) -> Result<Hash, MissingNode> {
        root(self, self.size)
    }
}

impl Nodes for Growth {
    type Error = MissingNode;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.known
            .get(&(level, index))
            .copied()
            .ok_or(MissingNode(level, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162's definitions written out over the leaf hashes themselves: the reference the
    /// stored-node versions are held to.
    mod reference {
        use super::super::{empty_root, node_hash, split, Hash};

        pub fn mth(leaves: &[Hash]) -> Hash {
            match leaves.len() {
                0 => empty_root(),
                1 => leaves[0],
                n => {
                    let k = split(n as u64) as usize;
                    node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
                }
            }
        }

        pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
            let n = leaves.len();
            if n <= 1 {
                return Vec::new();
            }
            let k = split(n as u64) as usize;
            if m < k {
                let mut p = path(m, &leaves[..k]);
                p.push(mth(&leaves[k..]));
                p
            } else {
                let mut p = path(m - k, &leaves[k..]);
                p.push(mth(&leaves[..k]));
                p
            }
        }

        pub fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
            fn sub(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
                let n = leaves.len();
                if m == n {
                    return if whole { Vec::new() } else { vec![mth(leaves)] };
                }
                let k = split(n as u64) as usize;
                if m <= k {
                    let mut p = sub(m, &leaves[..k], whole);
                    p.push(mth(&leaves[k..]));
                    p
                } else {
                    let mut p = sub(m - k, &leaves[k..], false);
                    p.push(mth(&leaves[..k]));
                    p
                }
            }
            if m == 0 || m == leaves.len() {
                Vec::new()
            } else {
                sub(m, leaves, true)
            }
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn tree_of(count: u64) -> (MemoryTree, Vec<Hash>) {
        let mut tree = MemoryTree::default();
        let mut leaves = Vec::new();
        for i in 0..count {
            let leaf = leaf_hash(format!("event {i}").as_bytes());
            let mut store = tree.clone();
            let expected = nodes_completed_by(&mut store, i, leaf).unwrap();
            assert_eq!(tree.push(leaf), expected, "what a store adds for leaf {i}");
            leaves.push(leaf);
        }
        (tree, leaves)
    }

    /// The roots of transparency-dev/merkle's `testonly` vectors (RFC 6962 = RFC 9162 hashing).
    #[test]
    fn the_reference_roots_of_transparency_dev() {
        let inputs = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut tree = MemoryTree::default();
        assert_eq!(root(&mut tree, 0).unwrap().to_vec(), hex(roots[0]));
        for (i, input) in inputs.iter().enumerate() {
            tree.push(leaf_hash(&hex(input)));
            let size = i as u64 + 1;
            assert_eq!(
                root(&mut tree, size).unwrap().to_vec(),
                hex(roots[i + 1]),
                "{size}"
            );
        }
        // Every earlier size's root from the same stored nodes.
        for size in 0..=8u64 {
            assert_eq!(
                root(&mut tree, size).unwrap().to_vec(),
                hex(roots[size as usize])
            );
        }
    }

    /// Every inclusion and consistency proof of every tree up to 70 leaves is RFC 9162's,
    /// verifies, has at most ⌈log₂ n⌉ hashes, and fails once any hash is changed.
    #[test]
    fn proofs_match_the_definitions_and_verify() {
        let (mut tree, leaves) = tree_of(70);
        for size in 1..=70u64 {
            let n = size as usize;
            let top = reference::mth(&leaves[..n]);
            assert_eq!(root(&mut tree, size).unwrap(), top, "root {size}");
            let bound = (64 - (size - 1).leading_zeros()) as usize;
            for index in 0..size {
                let proof = inclusion_proof(&mut tree, index, size).unwrap().unwrap();
                assert_eq!(proof, reference::path(index as usize, &leaves[..n]));
                assert!(proof.len() <= bound, "{index} of {size}: {}", proof.len());
                verify_inclusion(&leaves[index as usize], index, size, &proof, &top)
                    .unwrap_or_else(|e| panic!("{index} of {size}: {e}"));
                for bad in 0..proof.len() {
                    let mut forged = proof.clone();
                    forged[bad][0] ^= 1;
                    assert!(
                        verify_inclusion(&leaves[index as usize], index, size, &forged, &top)
                            .is_err()
                    );
                }
                let other = leaves[(index as usize + 1) % n];
                if size > 1 {
                    assert!(verify_inclusion(&other, index, size, &proof, &top).is_err());
                }
                if !proof.is_empty() {
                    assert!(verify_inclusion(
                        &leaves[index as usize],
                        index,
                        size,
                        &proof[..proof.len() - 1],
                        &top
                    )
                    .is_err());
                }
            }
            for old in 0..=size {
                let proof = consistency_proof(&mut tree, old, size).unwrap().unwrap();
                assert_eq!(proof, reference::proof(old as usize, &leaves[..n]));
                // RFC 9162's consistency proofs reach ⌈log₂ n⌉ + 1 (3 → 4 needs leaf 2, leaf 3
                // and the root of 0..2): one more than an inclusion proof.
                assert!(proof.len() <= bound + 1, "{old} → {size}: {}", proof.len());
                let old_root = reference::mth(&leaves[..old as usize]);
                verify_consistency(old, size, &old_root, &top, &proof)
                    .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
                for bad in 0..proof.len() {
                    let mut forged = proof.clone();
                    forged[bad][31] ^= 0x80;
                    assert!(verify_consistency(old, size, &old_root, &top, &forged).is_err());
                }
                if old > 0 && old < size {
                    let mut wrong_old = old_root;
                    wrong_old[0] ^= 1;
                    assert!(verify_consistency(old, size, &wrong_old, &top, &proof).is_err());
                }
            }
        }
    }

    /// A consistency proof across a rewritten range does not verify: the old root commits to
    /// the events as they were.
    #[test]
    fn a_rewritten_history_is_not_consistent() {
        let (mut tree, leaves) = tree_of(40);
        let old_root = reference::mth(&leaves[..25]);
        let mut forged = MemoryTree::default();
        for (i, leaf) in leaves.iter().enumerate() {
            forged.push(if i == 11 {
                leaf_hash(b"rewritten")
            } else {
                *leaf
            });
        }
        let forged_root = root(&mut forged, 40).unwrap();
        let proof = consistency_proof(&mut forged, 25, 40).unwrap().unwrap();
        assert_eq!(
            verify_consistency(25, 40, &old_root, &forged_root, &proof),
            Err(ProofError::OldRootMismatch)
        );
        let honest = consistency_proof(&mut tree, 25, 40).unwrap().unwrap();
        let new_root = root(&mut tree, 40).unwrap();
        assert_eq!(
            verify_consistency(25, 40, &old_root, &new_root, &honest),
            Ok(())
        );
        assert_eq!(
            verify_consistency(40, 25, &new_root, &old_root, &honest),
            Err(ProofError::SizesReversed { old: 40, new: 25 })
        );
        assert_eq!(
            inclusion_proof(&mut tree, 40, 40).unwrap(),
            Err(ProofError::IndexOutOfRange {
                index: 40,
                size: 40
            })
        );
    }

    /// Growing from a border alone gives the nodes a whole tree adds, and the same roots.
    #[test]
    fn growth_from_the_border_matches_the_whole_tree() {
        let (mut whole, leaves) = tree_of(300);
        for start in [0u64, 1, 2, 3, 7, 8, 100, 255, 256, 299] {
            let nodes: Vec<(u32, u64, Hash)> = border(start)
                .into_iter()
                .map(|(level, index)| (level, index, whole.node(level, index).unwrap()))
                .collect();
            assert_eq!(
                nodes.iter().map(|(l, _, _)| 1u64 << l).sum::<u64>(),
                start,
                "the border covers 0..{start}"
            );
            let mut growth = Growth::new(start, nodes);
            let mut again = MemoryTree::default();
            for leaf in &leaves[..start as usize] {
                again.push(*leaf);
            }
            let mut expected = Vec::new();
            for leaf in &leaves[start as usize..] {
                expected.extend(again.push(*leaf));
                growth.push(*leaf).unwrap();
            }
            assert_eq!(growth.added, expected, "from {start}");
            assert_eq!(growth.held(), border(300).len(), "only the border is held");
            assert_eq!(growth.root().unwrap(), root(&mut whole, 300).unwrap());
        }
        let mut broken = Growth::new(3, [(0, 2, leaves[2])]);
        assert_eq!(broken.push(leaves[3]), Err(MissingNode(1, 0)));
    }

    /// Random sizes up to 5,000: proofs from the stored nodes verify and stay within ⌈log₂ n⌉.
    #[test]
    fn random_sizes_verify() {
        let (mut tree, leaves) = tree_of(5000);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let size = 1 + x % 5000;
            let index = (x >> 20) % size;
            let old = (x >> 40) % (size + 1);
            let top = root(&mut tree, size).unwrap();
            let bound = (64 - (size - 1).leading_zeros()) as usize;
            let proof = inclusion_proof(&mut tree, index, size).unwrap().unwrap();
            assert!(proof.len() <= bound);
            assert_eq!(
                verify_inclusion(&leaves[index as usize], index, size, &proof, &top),
                Ok(())
            );
            let proof = consistency_proof(&mut tree, old, size).unwrap().unwrap();
            let old_root = root(&mut tree, old).unwrap();
            assert_eq!(
                verify_consistency(old, size, &old_root, &top, &proof),
                Ok(())
            );
        }
    }
}
