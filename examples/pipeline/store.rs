//! Where the pipeline's documents go: the embedded `MemoryIndex` by default, or
//! Elasticsearch/OpenSearch with `--search URL` (feature `elasticsearch`). Both implement
//! `DocumentSink`; the stream stage does not know which one it writes to.

use websight::core::analytics::Documents;
use websight::core::io::{DocumentSink, MemoryIndex};

type Error = Box<dyn std::error::Error>;

enum Backend {
    Memory(MemoryIndex),
    #[cfg(feature = "elasticsearch")]
    Search(websight::connectors::search::SearchSink),
}

pub struct Store {
    backend: Backend,
    runtime: tokio::runtime::Runtime,
    pub written: usize,
}

impl Store {
    /// The embedded store, or the search server at `search` (index names prefixed).
    pub fn open(search: Option<&str>, prefix: &str) -> Result<Store, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let backend = match search {
            None => Backend::Memory(MemoryIndex::default()),
            #[cfg(feature = "elasticsearch")]
            Some(url) => {
                let sink = websight::connectors::search::SearchSink::new(url).prefix(prefix);
                runtime.block_on(sink.install_templates())?;
                Backend::Search(sink)
            }
            #[cfg(not(feature = "elasticsearch"))]
            Some(_) => {
                let _ = prefix;
                return Err("--search needs the `elasticsearch` feature".into());
            }
        };
        Ok(Store {
            backend,
            runtime,
            written: 0,
        })
    }

    /// Writes a batch; returns once the store acknowledged every document.
    pub fn write(&mut self, docs: &Documents) -> Result<(), Error> {
        // Without the `elasticsearch` feature the match has one arm.
        #[allow(clippy::infallible_destructuring_match)]
        let sink: &mut dyn DocumentSink = match &mut self.backend {
            Backend::Memory(m) => m,
            #[cfg(feature = "elasticsearch")]
            Backend::Search(s) => s,
        };
        let report = self.runtime.block_on(sink.write(docs))?;
        self.written += report.written;
        Ok(())
    }

    /// Documents per index held by the store: session_summary, product_details,
    /// product_sentiment, KPI windows.
    pub fn counts(&self) -> Result<([u64; 4], &'static str), Error> {
        match &self.backend {
            Backend::Memory(m) => Ok((
                [
                    m.sessions.len() as u64,
                    m.products.len() as u64,
                    m.sentiments.len() as u64,
                    m.windows.len() as u64,
                ],
                "embedded store",
            )),
            #[cfg(feature = "elasticsearch")]
            Backend::Search(s) => self.runtime.block_on(async {
                s.refresh().await?;
                let mut out = [0u64; 4];
                for (o, index) in out.iter_mut().zip(websight::connectors::search::INDEXES) {
                    *o = s.count(index).await?;
                }
                Ok((out, "search server"))
            }),
        }
    }
}
