//! Validation of incoming batch events, shared by HTTP and the watched
//! folder: size, encoding, format, chain, numbering, signature encodings,
//! then the durable append. Every refusal is a typed [`IngestError`] with
//! an HTTP status; nothing is stored unless the event is accepted.

use zklanes_executor::batch::Encoding;
use zklanes_executor::{Batch, BatchError};

use crate::event_log::{batch_hash, BatchRecord, EventLog, LogError};
use crate::sequencer::{SequencerError, SequencerKey};

/// Limits and the chain of the service.
#[derive(Clone, Copy, Debug)]
pub struct IngestRules {
    /// Chain id.
    pub chain_id: u32,
    /// Largest encoded event, bytes.
    pub max_bytes: usize,
    /// Most transactions per batch (what one final proof holds).
    pub max_txs: usize,
    /// How far beyond the next batch to execute a number may be.
    pub max_ahead: u64,
    /// The sequencer whose signature every batch must carry (none: the
    /// bearer token alone admits a batch).
    pub sequencer: Option<SequencerKey>,
}

/// What happened to an accepted event.
#[derive(Debug)]
pub enum Ingested {
    /// Stored (a new number, or a corrected batch replacing a rejected one).
    Accepted(BatchRecord),
    /// The same event was stored before: an idempotent no-op.
    Duplicate(BatchRecord),
}

/// Why an event was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Larger than the limit.
    #[error("event of {bytes} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size.
        bytes: usize,
        /// Limit.
        limit: usize,
    },
    /// The declared encoding does not match the body.
    #[error("content type {content_type} does not match the body ({reason})")]
    WrongEncoding {
        /// The declared type.
        content_type: String,
        /// What the body is.
        reason: String,
    },
    /// The body does not decode, or breaks a format rule.
    #[error("malformed batch: {reason}")]
    Malformed {
        /// Why.
        reason: String,
    },
    /// A transaction's signature is not a valid encoding (missing, off the
    /// curve, scalar out of range).
    #[error("batch {batch}: transaction {index} has a bad signature: {reason}")]
    BadSignature {
        /// Batch number.
        batch: u64,
        /// Transaction index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The service checks the sequencer's signature and the batch carries
    /// none.
    #[error(
        "batch {batch} is not signed by the sequencer (send its signature in Zklanes-Signature)"
    )]
    Unsigned {
        /// Batch number.
        batch: u64,
    },
    /// The sequencer's signature does not verify.
    #[error("batch {batch}: the sequencer's signature is refused: {source}")]
    SequencerSignature {
        /// Batch number.
        batch: u64,
        /// Why.
        source: SequencerError,
    },
    /// Another batch is already stored under this number.
    #[error(
        "batch {batch} conflicts with the stored batch (stored {stored}, received {received})"
    )]
    Conflict {
        /// Batch number.
        batch: u64,
        /// Hash of the stored event.
        stored: String,
        /// Hash of the received one.
        received: String,
    },
    /// Too far ahead of the next batch to execute.
    #[error("batch {batch} is too far ahead (next to execute: {next}, window {window})")]
    TooFarAhead {
        /// Batch number.
        batch: u64,
        /// The next number to execute.
        next: u64,
        /// The window.
        window: u64,
    },
    /// The log failed: the event was not stored.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl IngestError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::TooLarge { .. } => 413,
            IngestError::WrongEncoding { .. } => 415,
            IngestError::Malformed { .. } => 400,
            IngestError::BadSignature { .. } | IngestError::TooFarAhead { .. } => 422,
            IngestError::Conflict { .. } => 409,
            IngestError::Unsigned { .. } => 401,
            IngestError::SequencerSignature { .. } => 403,
            IngestError::Log(_) => 503,
        }
    }

    /// A short reason label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::TooLarge { .. } => "too_large",
            IngestError::WrongEncoding { .. } => "wrong_encoding",
            IngestError::Malformed { .. } => "malformed",
            IngestError::BadSignature { .. } => "bad_signature",
            IngestError::Conflict { .. } => "conflict",
            IngestError::TooFarAhead { .. } => "too_far_ahead",
            IngestError::Unsigned { .. } => "unsigned",
            IngestError::SequencerSignature { .. } => "sequencer_signature",
            IngestError::Log(_) => "storage",
        }
    }
}

/// The encoding a content type declares (`None`: not a batch type).
pub fn declared_encoding(content_type: Option<&str>) -> Option<Encoding> {
    let ct = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match ct.as_str() {
        "application/json" => Some(Encoding::Json),
        "application/octet-stream" | "application/x-zklanes-batch" => Some(Encoding::Binary),
        _ => None,
    }
}

/// Decodes and checks an event body.
pub fn decode(
    body: &[u8],
    content_type: Option<&str>,
    rules: &IngestRules,
) -> Result<Batch, IngestError> {
    if body.len() > rules.max_bytes {
        return Err(IngestError::TooLarge {
            bytes: body.len(),
            limit: rules.max_bytes,
        });
    }
    // The type is declared, never sniffed: a form or `text/plain` post (what
    // a web page can send without a preflight) is refused.
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let enc = match declared_encoding(content_type) {
        Some(Encoding::Json) if !looks_json => {
            return Err(IngestError::WrongEncoding {
                content_type: content_type.unwrap_or_default().into(),
                reason: "the body is not a JSON object".into(),
            })
        }
        Some(e) => e,
        None => {
            return Err(IngestError::WrongEncoding {
                content_type: content_type.unwrap_or("(none)").into(),
                reason: "use application/json or application/octet-stream".into(),
            })
        }
    };
    let batch =
        Batch::decode_with(body, enc, rules.max_bytes, rules.max_txs).map_err(|e| match e {
            BatchError::TooLarge { bytes, limit } => IngestError::TooLarge { bytes, limit },
            e => IngestError::Malformed {
                reason: e.to_string(),
            },
        })?;
    if batch.chain_id != rules.chain_id {
        return Err(IngestError::Malformed {
            reason: format!(
                "chain id {} (this service: {})",
                batch.chain_id, rules.chain_id
            ),
        });
    }
    for (i, tx) in batch.txs.iter().enumerate() {
        let signed = tx.body.signer().is_some();
        let bad = match (&tx.signature, signed) {
            (None, true) => Some("missing".to_string()),
            (Some(_), false) => Some("an L1 deposit carries no signature".to_string()),
            (Some(s), true) => signature_encoding(s),
            _ => None,
        };
        if let Some(reason) = bad {
            return Err(IngestError::BadSignature {
                batch: batch.number,
                index: i,
                reason,
            });
        }
    }
    Ok(batch)
}

/// Why a signature's encoding is invalid (R off the curve, `s` not below
/// the subgroup order); the signature itself is checked at execution,
/// against the signer's key in the state.
fn signature_encoding(sig: &zklanes_executor::signature::Signature) -> Option<String> {
    use ark_ed_on_bn254::{EdwardsAffine, Fr as Scalar};
    use ark_ff::{BigInteger, PrimeField};
    if !EdwardsAffine::new_unchecked(sig.r_x, sig.r_y).is_on_curve() {
        return Some("R is not a curve point".into());
    }
    let reduced = Scalar::from_be_bytes_mod_order(&sig.s)
        .into_bigint()
        .to_bytes_be();
    (reduced != sig.s).then(|| "s is not below the subgroup order".into())
}

/// The sequencer's signature of `batch` when the rules require one:
/// `Ok(Some(signature))` once it verifies, `Ok(None)` when no sequencer key
/// is configured.
pub fn check_sequencer(
    batch: &Batch,
    signature: Option<&str>,
    rules: &IngestRules,
) -> Result<Option<String>, IngestError> {
    let Some(key) = rules.sequencer else {
        return Ok(None);
    };
    let sig = signature.ok_or(IngestError::Unsigned {
        batch: batch.number,
    })?;
    key.verify(batch, sig)
        .map_err(|source| IngestError::SequencerSignature {
            batch: batch.number,
            source,
        })?;
    Ok(Some(sig.trim().to_ascii_lowercase()))
}

/// Appends a decoded event (with its checked signature) to the log under
/// the ordering rules: the same event again is a no-op, another batch
/// under a stored number is a conflict (unless the stored one was rejected
/// by the executor), and a number may run
/// ahead of the next batch to execute by the window (gaps wait).
pub fn append(
    log: &EventLog,
    batch: &Batch,
    signature: Option<String>,
    next: u64,
    rules: &IngestRules,
) -> Result<Ingested, IngestError> {
    let hash = batch_hash(batch);
    if let Some(stored) = log.record(batch.number)? {
        if stored.hash == hash {
            return Ok(Ingested::Duplicate(stored));
        }
        if !stored.replaceable() {
            return Err(IngestError::Conflict {
                batch: batch.number,
                stored: stored.hash,
                received: hash,
            });
        }
    } else if batch.number < next {
        return Err(IngestError::Conflict {
            batch: batch.number,
            stored: "(executed before this log)".into(),
            received: hash,
        });
    }
    if batch.number > next + rules.max_ahead {
        return Err(IngestError::TooFarAhead {
            batch: batch.number,
            next,
            window: rules.max_ahead,
        });
    }
    Ok(Ingested::Accepted(log.accept(batch, signature)?))
}
