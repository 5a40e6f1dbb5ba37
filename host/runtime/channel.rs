//! Calling channel components: each export in a fresh store under the
//! channel's budgets, with the grant the channel host derived from the
//! owner's configuration (its base URL).

use std::sync::Arc;

use super::bindings::channel::exports::ironclaw::host::channel as wit;
use super::call::CallSetup;
use super::error::CallError;
use super::usage::Usage;
use super::{LoadedComponent, Runtime};
use crate::capabilities::Grants;

pub use wit::{
    ChannelError, ChannelInfo, Endpoint, HttpRequest, HttpResponse, OutboundMessage, StatusKind,
    StatusUpdate,
};

/// A call's outcome: the runtime's failure (trap, budget) outside, the
/// component's own answer inside.
pub type ChannelAnswer<T> = Result<Result<T, ChannelError>, CallError>;

impl Runtime {
    pub async fn channel_start(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
    ) -> (ChannelAnswer<ChannelInfo>, Usage) {
        self.channel_call(loaded, grants, async |store, pre| {
            let i = pre.channel()?.instantiate_async(&mut *store).await?;
            i.ironclaw_host_channel().call_on_start(&mut *store).await
        })
        .await
    }

    pub async fn channel_http(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        request: &HttpRequest,
    ) -> (ChannelAnswer<HttpResponse>, Usage) {
        self.channel_call(loaded, grants, async move |store, pre| {
            let i = pre.channel()?.instantiate_async(&mut *store).await?;
            i.ironclaw_host_channel()
                .call_on_http_request(&mut *store, request)
                .await
        })
        .await
    }

    pub async fn channel_poll(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
    ) -> (ChannelAnswer<()>, Usage) {
        self.channel_call(loaded, grants, async |store, pre| {
            let i = pre.channel()?.instantiate_async(&mut *store).await?;
            i.ironclaw_host_channel().call_on_poll(&mut *store).await
        })
        .await
    }

    pub async fn channel_respond(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        message: &OutboundMessage,
    ) -> (ChannelAnswer<()>, Usage) {
        self.channel_call(loaded, grants, async move |store, pre| {
            let i = pre.channel()?.instantiate_async(&mut *store).await?;
            i.ironclaw_host_channel()
                .call_on_respond(&mut *store, message)
                .await
        })
        .await
    }

    pub async fn channel_status(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        update: &StatusUpdate,
    ) -> (ChannelAnswer<()>, Usage) {
        self.channel_call(loaded, grants, async move |store, pre| {
            let i = pre.channel()?.instantiate_async(&mut *store).await?;
            i.ironclaw_host_channel()
                .call_on_status(&mut *store, update)
                .await
        })
        .await
    }

    pub async fn channel_shutdown(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
    ) -> (Result<(), CallError>, Usage) {
        let (r, usage) = self
            .run(
                loaded,
                CallSetup {
                    grants: Some(grants),
                    stream: None,
                },
                async |store, pre| {
                    let i = pre.channel()?.instantiate_async(&mut *store).await?;
                    i.ironclaw_host_channel()
                        .call_on_shutdown(&mut *store)
                        .await
                },
            )
            .await;
        (r.map_err(|e| e.with_usage(usage)), usage)
    }

    async fn channel_call<T>(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        f: impl AsyncFnOnce(
            &mut wasmtime::Store<crate::capabilities::HostState>,
            &super::call::KindPre,
        ) -> wasmtime::Result<Result<T, ChannelError>>,
    ) -> (ChannelAnswer<T>, Usage) {
        let setup = CallSetup {
            grants: Some(grants),
            stream: None,
        };
        let (r, usage) = self.run(loaded, setup, f).await;
        (r.map_err(|e| e.with_usage(usage)), usage)
    }
}
