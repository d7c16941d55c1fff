//! Circuit versions: the key names of a proof configuration, one per job
//! kind and layer.
//!
//! A job carries the name of the keys that prove and verify it (each a
//! digest of the circuit sources, the shape, the tree below it and the
//! SRS). A worker claims only the versions it holds keys for, so a worker
//! built from other sources, or for another shape, never takes a job it
//! would prove differently.

use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::error::PipelineError;
use zklanes_pipeline::keys::key_names;
use zklanes_prover::srs::SrsSet;
use zklanes_queue::JobKind;

/// The circuit version of every job of a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitVersions {
    /// The chunk circuit's.
    pub chunk: String,
    /// Each aggregation layer's, bottom up (the last is the final layer's);
    /// empty for a chunk-only configuration.
    pub layers: Vec<String>,
}

impl CircuitVersions {
    /// The versions of `config`'s chunk circuit, and of its layers when
    /// `layers` (reads the SRS of every size involved).
    pub fn of(config: &ProofConfig, srs: &SrsSet, layers: bool) -> Result<Self, PipelineError> {
        if layers {
            let mut names = key_names(config, srs)?;
            let chunk = names.remove(0);
            Ok(Self {
                chunk,
                layers: names,
            })
        } else {
            let params = srs.get(config.chunk_k)?;
            Ok(Self {
                chunk: zklanes_prover::chunk::key_name(&params, &config.shape),
                layers: Vec::new(),
            })
        }
    }

    /// The version of a job of `kind` at `layer`, if this configuration
    /// has one.
    pub fn of_job(&self, kind: JobKind, layer: u32) -> Option<&str> {
        let top = self.layers.len() as u32;
        match kind {
            JobKind::Chunk if layer == 0 => Some(&self.chunk),
            JobKind::Aggregate if layer >= 1 && layer < top => {
                Some(&self.layers[layer as usize - 1])
            }
            JobKind::Final if layer >= 1 && layer == top => Some(&self.layers[layer as usize - 1]),
            _ => None,
        }
    }

    /// Every version of `kinds`.
    pub fn for_kinds(&self, kinds: &[JobKind]) -> Vec<String> {
        let mut out = Vec::new();
        if kinds.contains(&JobKind::Chunk) {
            out.push(self.chunk.clone());
        }
        let top = self.layers.len();
        for (i, name) in self.layers.iter().enumerate() {
            let kind = if i + 1 == top {
                JobKind::Final
            } else {
                JobKind::Aggregate
            };
            if kinds.contains(&kind) {
                out.push(name.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_job_has_exactly_its_layers_version() {
        let v = CircuitVersions {
            chunk: "c".into(),
            layers: vec!["l1".into(), "l2".into(), "f".into()],
        };
        assert_eq!(v.of_job(JobKind::Chunk, 0), Some("c"));
        assert_eq!(v.of_job(JobKind::Chunk, 1), None);
        assert_eq!(v.of_job(JobKind::Aggregate, 1), Some("l1"));
        assert_eq!(v.of_job(JobKind::Aggregate, 2), Some("l2"));
        assert_eq!(v.of_job(JobKind::Aggregate, 3), None);
        assert_eq!(v.of_job(JobKind::Final, 2), None);
        assert_eq!(v.of_job(JobKind::Final, 3), Some("f"));
        assert_eq!(v.of_job(JobKind::Aggregate, 0), None);
        assert_eq!(v.for_kinds(&[JobKind::Chunk, JobKind::Final]), ["c", "f"]);
        assert_eq!(v.for_kinds(&[JobKind::Aggregate]), ["l1", "l2"]);
        let chunks_only = CircuitVersions {
            chunk: "c".into(),
            layers: vec![],
        };
        assert_eq!(chunks_only.of_job(JobKind::Final, 0), None);
        assert_eq!(chunks_only.for_kinds(JobKind::ALL), ["c"]);
    }
}
