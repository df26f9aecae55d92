//! The raw host functions of import module `gocluster_v1`, exactly as the
//! host's `abi` package declares them. Pointers and lengths address this
//! module's linear memory (a `usize` and a pointer are both i32 on wasm32);
//! the host copies what it reads and writes only inside the ranges it is
//! given, and never keeps a pointer. Each function that returns i32 returns
//! a non-negative value on success and a negated status on failure.
//!
//! Outside wasm32 there is no host: every function answers UNAVAILABLE (or
//! does nothing), like sdk-go outside wasip1, so apps compile and their
//! pure logic unit-tests natively. The crate's own tests install a fake
//! host instead.

#[cfg(target_arch = "wasm32")]
pub(crate) use self::wasm::*;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use self::native::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    // The Rust names carry a prefix and link_name gives the import name:
    // bare names such as `log` would collide with libm's symbols at link
    // time.
    #[link(wasm_import_module = "gocluster_v1")]
    extern "C" {
        #[link_name = "abi_version"]
        pub fn gc_abi_version() -> i32;
        #[link_name = "reply"]
        pub fn gc_reply(ptr: *const u8, len: usize);
        #[link_name = "log"]
        pub fn gc_log(level: i32, ptr: *const u8, len: usize);
        #[link_name = "config"]
        pub fn gc_config(key_ptr: *const u8, key_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32;
        #[link_name = "take"]
        pub fn gc_take(ptr: *mut u8, len: usize) -> i32;
        #[link_name = "kv_get"]
        pub fn gc_kv_get(
            key_ptr: *const u8,
            key_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
            rev_ptr: *mut u64,
        ) -> i32;
        #[link_name = "kv_put"]
        pub fn gc_kv_put(
            key_ptr: *const u8,
            key_len: usize,
            val_ptr: *const u8,
            val_len: usize,
            rev_ptr: *mut u64,
        ) -> i32;
        #[link_name = "kv_create"]
        pub fn gc_kv_create(
            key_ptr: *const u8,
            key_len: usize,
            val_ptr: *const u8,
            val_len: usize,
            rev_ptr: *mut u64,
        ) -> i32;
        #[link_name = "kv_update"]
        pub fn gc_kv_update(
            key_ptr: *const u8,
            key_len: usize,
            val_ptr: *const u8,
            val_len: usize,
            rev: u64,
            rev_ptr: *mut u64,
        ) -> i32;
        #[link_name = "kv_delete"]
        pub fn gc_kv_delete(key_ptr: *const u8, key_len: usize) -> i32;
        #[link_name = "kv_keys"]
        pub fn gc_kv_keys(prefix_ptr: *const u8, prefix_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32;
        #[link_name = "call"]
        pub fn gc_call(
            app_ptr: *const u8,
            app_len: usize,
            method_ptr: *const u8,
            method_len: usize,
            payload_ptr: *const u8,
            payload_len: usize,
            key_ptr: *const u8,
            key_len: usize,
            timeout_ms: i32,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        #[link_name = "db_exec"]
        pub fn gc_db_exec(
            sql_ptr: *const u8,
            sql_len: usize,
            params_ptr: *const u8,
            params_len: usize,
            out_ptr: *mut u8,
        ) -> i32;
        #[link_name = "db_query"]
        pub fn gc_db_query(
            sql_ptr: *const u8,
            sql_len: usize,
            params_ptr: *const u8,
            params_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        #[link_name = "db_batch"]
        pub fn gc_db_batch(batch_ptr: *const u8, batch_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32;
        #[link_name = "lock_acquire"]
        pub fn gc_lock_acquire(
            name_ptr: *const u8,
            name_len: usize,
            ttl_ms: i32,
            wait_ms: i32,
            token_ptr: *mut u64,
        ) -> i32;
        #[link_name = "lock_renew"]
        pub fn gc_lock_renew(name_ptr: *const u8, name_len: usize, token: u64, ttl_ms: i32) -> i32;
        #[link_name = "lock_release"]
        pub fn gc_lock_release(name_ptr: *const u8, name_len: usize, token: u64) -> i32;
        #[link_name = "event_publish"]
        pub fn gc_event_publish(
            topic_ptr: *const u8,
            topic_len: usize,
            payload_ptr: *const u8,
            payload_len: usize,
        ) -> i32;
        #[link_name = "last_error"]
        pub fn gc_last_error(out_ptr: *mut u8, out_cap: usize) -> i32;
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::too_many_arguments)]
mod native {
    //! Same signatures as the imports, so callers are identical on every
    //! target. Without a fake host (always, outside this crate's tests)
    //! they answer UNAVAILABLE.

    use super::fake::with;

    const UNAVAILABLE: i32 = -crate::abi::status::UNAVAILABLE;

    unsafe fn mem<'a>(p: *const u8, n: usize) -> &'a [u8] {
        if n == 0 {
            return &[];
        }
        std::slice::from_raw_parts(p, n)
    }

    unsafe fn mem_mut<'a>(p: *mut u8, n: usize) -> &'a mut [u8] {
        if n == 0 {
            return &mut [];
        }
        std::slice::from_raw_parts_mut(p, n)
    }

    pub unsafe fn gc_abi_version() -> i32 {
        with(|h| h.abi_version()).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_reply(ptr: *const u8, len: usize) {
        with(|h| h.reply(mem(ptr, len)));
    }
    pub unsafe fn gc_log(level: i32, ptr: *const u8, len: usize) {
        with(|h| h.log(level, mem(ptr, len)));
    }
    pub unsafe fn gc_config(key_ptr: *const u8, key_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32 {
        with(|h| h.config(mem(key_ptr, key_len), mem_mut(out_ptr, out_cap))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_take(ptr: *mut u8, len: usize) -> i32 {
        with(|h| h.take(mem_mut(ptr, len))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_get(
        key_ptr: *const u8,
        key_len: usize,
        out_ptr: *mut u8,
        out_cap: usize,
        rev_ptr: *mut u64,
    ) -> i32 {
        with(|h| h.kv_get(mem(key_ptr, key_len), mem_mut(out_ptr, out_cap), &mut *rev_ptr)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_put(
        key_ptr: *const u8,
        key_len: usize,
        val_ptr: *const u8,
        val_len: usize,
        rev_ptr: *mut u64,
    ) -> i32 {
        with(|h| h.kv_put(mem(key_ptr, key_len), mem(val_ptr, val_len), &mut *rev_ptr)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_create(
        key_ptr: *const u8,
        key_len: usize,
        val_ptr: *const u8,
        val_len: usize,
        rev_ptr: *mut u64,
    ) -> i32 {
        with(|h| h.kv_create(mem(key_ptr, key_len), mem(val_ptr, val_len), &mut *rev_ptr)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_update(
        key_ptr: *const u8,
        key_len: usize,
        val_ptr: *const u8,
        val_len: usize,
        rev: u64,
        rev_ptr: *mut u64,
    ) -> i32 {
        with(|h| h.kv_update(mem(key_ptr, key_len), mem(val_ptr, val_len), rev, &mut *rev_ptr)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_delete(key_ptr: *const u8, key_len: usize) -> i32 {
        with(|h| h.kv_delete(mem(key_ptr, key_len))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_kv_keys(prefix_ptr: *const u8, prefix_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32 {
        with(|h| h.kv_keys(mem(prefix_ptr, prefix_len), mem_mut(out_ptr, out_cap))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_call(
        app_ptr: *const u8,
        app_len: usize,
        method_ptr: *const u8,
        method_len: usize,
        payload_ptr: *const u8,
        payload_len: usize,
        key_ptr: *const u8,
        key_len: usize,
        timeout_ms: i32,
        out_ptr: *mut u8,
        out_cap: usize,
    ) -> i32 {
        with(|h| {
            h.call(
                mem(app_ptr, app_len),
                mem(method_ptr, method_len),
                mem(payload_ptr, payload_len),
                mem(key_ptr, key_len),
                timeout_ms,
                mem_mut(out_ptr, out_cap),
            )
        })
        .unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_db_exec(
        sql_ptr: *const u8,
        sql_len: usize,
        params_ptr: *const u8,
        params_len: usize,
        out_ptr: *mut u8,
    ) -> i32 {
        let out = mem_mut(out_ptr, crate::abi::EXEC_RESULT_SIZE);
        with(|h| h.db_exec(mem(sql_ptr, sql_len), mem(params_ptr, params_len), out)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_db_query(
        sql_ptr: *const u8,
        sql_len: usize,
        params_ptr: *const u8,
        params_len: usize,
        out_ptr: *mut u8,
        out_cap: usize,
    ) -> i32 {
        with(|h| h.db_query(mem(sql_ptr, sql_len), mem(params_ptr, params_len), mem_mut(out_ptr, out_cap)))
            .unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_db_batch(batch_ptr: *const u8, batch_len: usize, out_ptr: *mut u8, out_cap: usize) -> i32 {
        with(|h| h.db_batch(mem(batch_ptr, batch_len), mem_mut(out_ptr, out_cap))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_lock_acquire(
        name_ptr: *const u8,
        name_len: usize,
        ttl_ms: i32,
        wait_ms: i32,
        token_ptr: *mut u64,
    ) -> i32 {
        with(|h| h.lock_acquire(mem(name_ptr, name_len), ttl_ms, wait_ms, &mut *token_ptr)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_lock_renew(name_ptr: *const u8, name_len: usize, token: u64, ttl_ms: i32) -> i32 {
        with(|h| h.lock_renew(mem(name_ptr, name_len), token, ttl_ms)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_lock_release(name_ptr: *const u8, name_len: usize, token: u64) -> i32 {
        with(|h| h.lock_release(mem(name_ptr, name_len), token)).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_event_publish(
        topic_ptr: *const u8,
        topic_len: usize,
        payload_ptr: *const u8,
        payload_len: usize,
    ) -> i32 {
        with(|h| h.event_publish(mem(topic_ptr, topic_len), mem(payload_ptr, payload_len))).unwrap_or(UNAVAILABLE)
    }
    pub unsafe fn gc_last_error(out_ptr: *mut u8, out_cap: usize) -> i32 {
        with(|h| h.last_error(mem_mut(out_ptr, out_cap))).unwrap_or(UNAVAILABLE)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod fake;
