//! The id → key direction of the dictionaries, packed [`IDS_PER_BLOCK`] ids to a value.
//!
//! sled's cost is per entry (several microseconds each), so one entry per id made the reverse
//! dictionary a third of a bulk import's commit. A block value is `IDS_PER_BLOCK` slots in id order,
//! each a `u32` little-endian length followed by that many bytes of encoded key; length 0 marks an id
//! with no entity (never handed out, or deleted; an encoded key is never empty).

use crate::error::{corrupt, Result};

/// Ids per block.
pub const IDS_PER_BLOCK: u32 = 256;

/// The block key (`u32` big-endian block number) holding `id`, and the id's slot in it.
pub fn locate(id: u32) -> ([u8; 4], usize) {
    ((id / IDS_PER_BLOCK).to_be_bytes(), (id % IDS_PER_BLOCK) as usize)
}

/// The first id of a block, from its key.
pub fn first_id(block_key: &[u8]) -> Result<u32> {
    let block = crate::format::decode_u32(block_key, "id block")?;
    block.checked_mul(IDS_PER_BLOCK).ok_or_else(|| corrupt("id block number out of range"))
}

/// The slots of a block value: the encoded key of each id, `None` where there is no entity.
pub fn decode(value: &[u8]) -> Result<Vec<Option<&[u8]>>> {
    let mut slots = Vec::with_capacity(IDS_PER_BLOCK as usize);
    let mut rest = value;
    while slots.len() < IDS_PER_BLOCK as usize {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("id block is truncated"))?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(corrupt("id block is truncated"));
        }
        let (key, tail) = tail.split_at(len);
        slots.push((len > 0).then_some(key));
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(corrupt("id block has trailing bytes"));
    }
    Ok(slots)
}

/// The encoded key in slot `slot` of a block value (`None` for an empty slot), read without decoding
/// the slots after it: the look-up of one id's key.
pub fn slot(value: &[u8], slot: usize) -> Result<Option<&[u8]>> {
    let mut rest = value;
    for at in 0..=slot {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("id block is truncated"))?;
        let len = u32::from_le_bytes(*len) as usize;
        let (key, tail) = tail.split_at_checked(len).ok_or_else(|| corrupt("id block is truncated"))?;
        if at == slot {
            return Ok((len > 0).then_some(key));
        }
        rest = tail;
    }
    Err(corrupt("id block slot out of range"))
}

/// Encodes slots as a block value; `None` if every slot is empty (the block is then removed).
pub fn encode(slots: &[Option<Vec<u8>>]) -> Option<Vec<u8>> {
    if slots.iter().all(Option::is_none) {
        return None;
    }
    let mut out = Vec::with_capacity(slots.iter().map(|s| 4 + s.as_ref().map_or(0, Vec::len)).sum());
    for slot in slots {
        let key = slot.as_deref().unwrap_or(&[]);
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_reject_bad_bytes() {
        let mut slots = vec![None; IDS_PER_BLOCK as usize];
        slots[0] = Some(vec![0, 1]);
        slots[255] = Some(vec![1, b'x']);
        let value = encode(&slots).expect("non-empty");
        let back = decode(&value).expect("decodes");
        assert_eq!(back[0], Some(&[0u8, 1][..]));
        assert_eq!(back[1], None);
        assert_eq!(back[255], Some(&[1u8, b'x'][..]));
        assert_eq!(encode(&vec![None; IDS_PER_BLOCK as usize]), None);
        assert!(decode(&value[..value.len() - 1]).is_err());
        assert!(decode(&[value.clone(), vec![0]].concat()).is_err());
        assert_eq!(locate(513), (2u32.to_be_bytes(), 1));
        assert_eq!(first_id(&2u32.to_be_bytes()).expect("valid"), 512);
    }

    #[test]
    fn one_slot_reads_as_the_whole_block_decodes() {
        let mut slots = vec![None; IDS_PER_BLOCK as usize];
        slots[3] = Some(vec![7, 8, 9]);
        slots[200] = Some(vec![1, b'y']);
        let value = encode(&slots).expect("non-empty");
        let decoded = decode(&value).expect("decodes");
        for (at, expected) in decoded.iter().enumerate() {
            assert_eq!(slot(&value, at).expect("in range"), *expected, "slot {at}");
        }
        assert!(slot(&value, IDS_PER_BLOCK as usize).is_err(), "past the last slot");
        assert!(slot(&value[..10], 200).is_err(), "a truncated block");
        let mut lying = value.clone();
        lying[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(slot(&lying, 3).is_err(), "a length past the end");
    }
}
