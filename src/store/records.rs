//! Mutes set at run time and recorded liquidations, per symbol.

use super::keys::{liquidation_key, mute_key, prefix};
use super::{LIQUIDATIONS, MUTES, Store, StoreError, decode, encode};
use crate::model::{Liquidation, Symbol};
use crate::rules::{Mute, Mutes};

impl Store {
    /// Stores a mute, replacing one of the same symbol and kind (as [`Mutes::add`] does).
    pub fn put_mute(&self, mute: &Mute) -> Result<(), StoreError> {
        let value = encode(MUTES, mute)?;
        self.mutes
            .insert(mute_key(&mute.symbol, mute.kind), value)
            .map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// Removes every mute of `symbol` at once; returns how many there were.
    pub fn remove_mutes(&self, symbol: &Symbol) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for key in self
            .mutes
            .scan_prefix(prefix(symbol.as_str().as_bytes()))
            .keys()
        {
            batch.remove(key.map_err(|e| self.op_error(e))?);
            removed += 1;
        }
        self.mutes
            .apply_batch(batch)
            .map_err(|e| self.op_error(e))?;
        Ok(removed)
    }

    /// Every stored mute (expired ones included: they are harmless), by symbol and kind.
    pub fn mutes(&self) -> Result<Mutes, StoreError> {
        let mutes = self
            .mutes
            .iter()
            .values()
            .map(|value| decode(MUTES, &value.map_err(|e| self.op_error(e))?))
            .collect::<Result<Vec<Mute>, StoreError>>()?;
        Ok(Mutes::new(mutes))
    }

    /// Records one liquidation of `symbol`; several at the same millisecond are all kept, in
    /// the order recorded.
    pub fn record_liquidation(&self, symbol: &Symbol, liq: &Liquidation) -> Result<(), StoreError> {
        let value = encode(LIQUIDATIONS, liq)?;
        let seq = self.db.generate_id().map_err(|e| self.op_error(e))?;
        self.liquidations
            .insert(liquidation_key(symbol, liq.time, seq), value)
            .map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// The recorded liquidations of `symbol`, in time order.
    pub fn liquidations(&self, symbol: &Symbol) -> Result<Vec<Liquidation>, StoreError> {
        self.liquidations
            .scan_prefix(prefix(symbol.as_str().as_bytes()))
            .values()
            .map(|value| {
                let value = value.map_err(|e| self.op_error(e))?;
                decode(LIQUIDATIONS, &value)
            })
            .collect()
    }
}
