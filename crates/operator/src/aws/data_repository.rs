//! FSx data repository calls: associations (DRAs) and tasks, one small function each.

use aws_sdk_fsx::types::{
    AutoExportPolicy, AutoImportPolicy, CompletionReport, DataRepositoryTaskFilter, DataRepositoryTaskFilterName,
    DataRepositoryTaskType, DurationSinceLastAccess, EventType, Filter, FilterName, ReleaseConfiguration, ReportFormat,
    ReportScope, S3DataRepositoryConfiguration, Tag, Unit,
};
use lustre_api::S3Event;

use super::{
    Association, AssociationLifecycle, AssociationRequest, Aws, AwsError, ErrorKind, Task, TaskLifecycle, TaskRequest,
};

fn tags(t: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    t.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn s3_config(import: &[S3Event], export: &[S3Event]) -> S3DataRepositoryConfiguration {
    let events = |list: &[S3Event]| list.iter().map(|e| EventType::from(e.as_str())).collect::<Vec<_>>();
    S3DataRepositoryConfiguration::builder()
        .auto_import_policy(AutoImportPolicy::builder().set_events(Some(events(import))).build())
        .auto_export_policy(AutoExportPolicy::builder().set_events(Some(events(export))).build())
        .build()
}

fn malformed(operation: &'static str, what: &str) -> AwsError {
    AwsError {
        operation,
        kind: ErrorKind::Transient,
        code: "MalformedResponse".into(),
        message: format!("{operation} answered without {what}"),
    }
}

impl Aws {
    /// Every association of a file system (pages of 25).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn associations_of(&self, file_system_id: &str) -> Result<Vec<Association>, AwsError> {
        let filter = Filter::builder().name(FilterName::FileSystemId).values(file_system_id).build();
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self
                .fsx
                .describe_data_repository_associations()
                .filters(filter.clone())
                .max_results(25)
                .set_next_token(token.clone());
            let out = self.call("fsx", "DescribeDataRepositoryAssociations", || request.send()).await?;
            found.extend(out.associations().iter().map(association));
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    #[tracing::instrument(skip(self, request), fields(path = %request.spec.file_system_path), err)]
    pub(crate) async fn create_association(&self, request: &AssociationRequest) -> Result<Association, AwsError> {
        let a = &request.spec;
        let call = self
            .fsx
            .create_data_repository_association()
            .client_request_token(&request.client_request_token)
            .file_system_id(&request.file_system_id)
            .file_system_path(&a.file_system_path)
            .data_repository_path(&a.data_repository_path)
            .batch_import_meta_data_on_create(a.batch_import_metadata_on_create)
            .set_imported_file_chunk_size(a.imported_file_chunk_size)
            .s3(s3_config(&a.auto_import_events, &a.auto_export_events))
            .set_tags(Some(tags(&request.tags)));
        let out = self.call("fsx", "CreateDataRepositoryAssociation", || call.send()).await?;
        out.association().map(association).ok_or_else(|| malformed("CreateDataRepositoryAssociation", "an association"))
    }

    /// Sets an association's chunk size and automatic import/export events.
    #[tracing::instrument(skip(self, import, export), err)]
    pub(crate) async fn update_association(
        &self,
        id: &str,
        chunk_size: Option<i32>,
        import: &[S3Event],
        export: &[S3Event],
    ) -> Result<(), AwsError> {
        let call = self
            .fsx
            .update_data_repository_association()
            .association_id(id)
            .set_imported_file_chunk_size(chunk_size)
            .s3(s3_config(import, export));
        self.call("fsx", "UpdateDataRepositoryAssociation", || call.send()).await.map(|_| ())
    }

    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn delete_association(&self, id: &str, delete_data: bool) -> Result<(), AwsError> {
        let call =
            self.fsx.delete_data_repository_association().association_id(id).delete_data_in_file_system(delete_data);
        self.call("fsx", "DeleteDataRepositoryAssociation", || call.send()).await.map(|_| ())
    }

    /// The tasks of a file system, optionally only those in the given lifecycles.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn tasks_of(
        &self,
        file_system_id: &str,
        lifecycles: &[TaskLifecycle],
    ) -> Result<Vec<Task>, AwsError> {
        let mut filters = vec![DataRepositoryTaskFilter::builder()
            .name(DataRepositoryTaskFilterName::FileSystemId)
            .values(file_system_id)
            .build()];
        if !lifecycles.is_empty() {
            filters.push(
                DataRepositoryTaskFilter::builder()
                    .name(DataRepositoryTaskFilterName::TaskLifecycle)
                    .set_values(Some(lifecycles.iter().map(|l| l.as_str().to_string()).collect()))
                    .build(),
            );
        }
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self
                .fsx
                .describe_data_repository_tasks()
                .set_filters(Some(filters.clone()))
                .set_next_token(token.clone());
            let out = self.call("fsx", "DescribeDataRepositoryTasks", || request.send()).await?;
            found.extend(out.data_repository_tasks().iter().map(task));
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// One task by ID (None when FSx no longer knows it).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn task(&self, id: &str) -> Result<Option<Task>, AwsError> {
        let request = self.fsx.describe_data_repository_tasks().task_ids(id);
        match self.call("fsx", "DescribeDataRepositoryTasks", || request.send()).await {
            Ok(out) => Ok(out.data_repository_tasks().first().map(task)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts a task (idempotent through the request's client token).
    #[tracing::instrument(skip(self, request), fields(token = %request.client_request_token), err)]
    pub(crate) async fn create_task(&self, request: &TaskRequest) -> Result<Task, AwsError> {
        let report = match &request.report_path {
            Some(path) => CompletionReport::builder()
                .enabled(true)
                .path(path)
                .format(ReportFormat::ReportCsv20191124)
                .scope(ReportScope::FailedFilesOnly)
                .build(),
            None => CompletionReport::builder().enabled(false).build(),
        };
        let mut call = self
            .fsx
            .create_data_repository_task()
            .client_request_token(&request.client_request_token)
            .file_system_id(&request.file_system_id)
            .r#type(DataRepositoryTaskType::from(request.task_type))
            .report(report)
            .set_tags(Some(tags(&request.tags)));
        if !request.paths.is_empty() {
            call = call.set_paths(Some(request.paths.clone()));
        }
        if let Some(days) = request.min_days_since_last_access {
            let duration = DurationSinceLastAccess::builder().unit(Unit::Days).value(i64::from(days)).build();
            call = call
                .release_configuration(ReleaseConfiguration::builder().duration_since_last_access(duration).build());
        }
        let out = self.call("fsx", "CreateDataRepositoryTask", || call.send()).await?;
        out.data_repository_task().map(task).ok_or_else(|| malformed("CreateDataRepositoryTask", "a task"))
    }

    /// Cancels a task; a task that already ended (or is gone) is fine.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn cancel_task(&self, id: &str) -> Result<(), AwsError> {
        let call = self.fsx.cancel_data_repository_task().task_id(id);
        match self.call("fsx", "CancelDataRepositoryTask", || call.send()).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.is("DataRepositoryTaskEnded") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn events(list: &[EventType]) -> Vec<S3Event> {
    list.iter()
        .filter_map(|e| match e.as_str() {
            "NEW" => Some(S3Event::New),
            "CHANGED" => Some(S3Event::Changed),
            "DELETED" => Some(S3Event::Deleted),
            _ => None,
        })
        .collect()
}

fn tag_map(list: &[Tag]) -> std::collections::BTreeMap<String, String> {
    list.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect()
}

fn association(a: &aws_sdk_fsx::types::DataRepositoryAssociation) -> Association {
    let s3 = a.s3();
    Association {
        id: a.association_id().unwrap_or_default().to_string(),
        arn: a.resource_arn().map(str::to_string),
        file_system_path: a.file_system_path().unwrap_or_default().to_string(),
        data_repository_path: a.data_repository_path().unwrap_or_default().to_string(),
        lifecycle: AssociationLifecycle::from_fsx(a.lifecycle().map(|l| l.as_str()).unwrap_or_default()),
        imported_file_chunk_size: a.imported_file_chunk_size(),
        import_events: s3.and_then(|s| s.auto_import_policy()).map(|p| events(p.events())).unwrap_or_default(),
        export_events: s3.and_then(|s| s.auto_export_policy()).map(|p| events(p.events())).unwrap_or_default(),
        failure: a.failure_details().and_then(|f| f.message()).map(str::to_string),
        tags: tag_map(a.tags()),
    }
}

fn task(t: &aws_sdk_fsx::types::DataRepositoryTask) -> Task {
    let status = t.status();
    Task {
        id: t.task_id().unwrap_or_default().to_string(),
        file_system_id: t.file_system_id().unwrap_or_default().to_string(),
        task_type: t.r#type().map(|x| x.as_str().to_string()).unwrap_or_default(),
        lifecycle: TaskLifecycle::from_fsx(t.lifecycle().map(|l| l.as_str()).unwrap_or_default()),
        total: status.and_then(|s| s.total_count()),
        succeeded: status.and_then(|s| s.succeeded_count()),
        failed: status.and_then(|s| s.failed_count()),
        released_capacity: status.and_then(|s| s.released_capacity()),
        start_time: t.start_time().map(|d| d.secs()),
        end_time: t.end_time().map(|d| d.secs()),
        failure: t.failure_details().and_then(|f| f.message()).map(str::to_string),
        report_path: t.report().filter(|r| r.enabled() == Some(true)).and_then(|r| r.path()).map(str::to_string),
        tags: tag_map(t.tags()),
    }
}
