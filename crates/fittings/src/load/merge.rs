//! The original's `update_settings` merge: keys absent in the base are added, lists are concatenated
//! (base first), mappings merge recursively, scalars are replaced, and null values are skipped.

use crate::yaml::{MNode, MValue};

/// Merges `over` onto a copy of `base`.
pub fn merge(base: &MNode, over: &MNode) -> MNode {
    match (&base.value, &over.value) {
        (_, MValue::Null) => base.clone(),
        (MValue::Map(b), MValue::Map(o)) => {
            let mut entries = b.clone();
            for (k, v) in o {
                if v.is_null() {
                    continue;
                }
                match entries.iter_mut().find(|(bk, _)| bk.value == k.value) {
                    Some((_, bv)) => *bv = merge(bv, v),
                    None => entries.push((k.clone(), v.clone())),
                }
            }
            MNode {
                value: MValue::Map(entries),
                line: over.line,
                column: over.column,
            }
        }
        (MValue::Seq(b), MValue::Seq(o)) => {
            let mut items = b.clone();
            items.extend(o.iter().cloned());
            MNode {
                value: MValue::Seq(items),
                line: over.line,
                column: over.column,
            }
        }
        _ => over.clone(),
    }
}

/// A copy of a mapping without some keys.
pub fn without(map: &MNode, keys: &[&str]) -> MNode {
    match &map.value {
        MValue::Map(entries) => MNode {
            value: MValue::Map(
                entries
                    .iter()
                    .filter(|(k, _)| !keys.contains(&k.as_str().unwrap_or_default()))
                    .cloned()
                    .collect(),
            ),
            line: map.line,
            column: map.column,
        },
        _ => map.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    #[test]
    fn lists_concatenate_maps_merge_nulls_skip() {
        let docs = parse_documents("a: {l: [1, 2], m: {x: 1, y: 2}, s: old, k: keep}\nb: {l: [3], m: {y: 3}, s: new, k: ~}\n").unwrap();
        let merged = merge(docs[0].get("a").unwrap(), docs[0].get("b").unwrap());
        assert_eq!(
            merged.to_value(),
            serde_yaml::from_str::<serde_yaml::Value>(
                "{l: [1, 2, 3], m: {x: 1, y: 3}, s: new, k: keep}"
            )
            .unwrap()
        );
        assert!(without(&merged, &["l"]).get("l").is_none());
    }
}
