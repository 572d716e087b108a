"""CloudWatch metric alarms: PutMetricAlarm, DescribeAlarms, SetAlarmState and DeleteAlarms.

The alarms are ``showcase.deployment.alarms``' records in the home, the ones a stack's ``AWS::CloudWatch::Alarm``
resources create; an alarm's state is whatever last evaluated it (``INSUFFICIENT_DATA`` until then).
SetAlarmState is how AWS suggests testing what an alarm sets off (an endpoint update's automatic rollback): it
works the same here. There are no metrics behind the API (no PutMetricData or GetMetricData); alarm actions
(SNS, Auto Scaling) are kept with the alarm and never run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from showcase.api.errors import ApiError
from showcase.api.listing import page, with_token
from showcase.api.state import Call, Handler
from showcase.deployment import alarms

_TIMESTAMPS = ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp")
_NOT_DESCRIBED = frozenset({"Tags"})


def alarm_arn(call: Call, name: str) -> str:
    settings = call.state.settings
    return f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:{name}"


def put_metric_alarm(call: Call) -> dict[str, Any]:
    params = call.params
    single = [key for key in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic") if key in params]
    if "Metrics" in params and single:
        raise ApiError("ValidationError", f"Metrics cannot be given with {', '.join(single)}")
    if "Metrics" not in params and not ("MetricName" in params and "Namespace" in params):
        raise ApiError("ValidationError", "give MetricName and Namespace, or Metrics (a metric math expression)")
    if "Metrics" not in params and ("Statistic" in params) == ("ExtendedStatistic" in params):
        raise ApiError("ValidationError", "give exactly one of Statistic and ExtendedStatistic")
    request = {key: value for key, value in params.items() if key not in _NOT_DESCRIBED}
    alarms.put_alarm(call.state.settings.home, {**request, "AlarmArn": alarm_arn(call, params["AlarmName"])})
    return {}


def _described(alarm: dict[str, Any]) -> dict[str, Any]:
    described = {"ActionsEnabled": True, **alarm}
    for key in _TIMESTAMPS:
        if isinstance(described.get(key), str):
            described[key] = datetime.fromisoformat(described[key])
    return described


def describe_alarms(call: Call) -> dict[str, Any]:
    params = call.params
    every = alarms.alarms(call.state.settings.home)
    names = params.get("AlarmNames")
    prefix = params.get("AlarmNamePrefix") or ""
    if names and prefix:
        raise ApiError("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be given together")
    chosen = [
        alarm
        for name, alarm in sorted(every.items())
        if (not names or name in names)
        and name.startswith(prefix)
        and params.get("StateValue") in (None, alarm.get("StateValue"))
        and not (params.get("ActionPrefix") and not _has_action(alarm, params["ActionPrefix"]))
    ]
    wanted = params.get("AlarmTypes") or ["MetricAlarm"]
    if "MetricAlarm" not in wanted:
        chosen = []
    paging = {"MaxResults": params.get("MaxRecords"), "NextToken": params.get("NextToken")}
    items, token = page(chosen, paging, default=50)
    result: dict[str, Any] = {"MetricAlarms": [_described(alarm) for alarm in items]}
    if "CompositeAlarm" in wanted:
        result["CompositeAlarms"] = []
    return with_token(result, token)


def _has_action(alarm: dict[str, Any], prefix: str) -> bool:
    actions = [*alarm.get("OKActions", []), *alarm.get("AlarmActions", []), *alarm.get("InsufficientDataActions", [])]
    return any(action.startswith(prefix) for action in actions)


def set_alarm_state(call: Call) -> dict[str, Any]:
    params = call.params
    if params["AlarmName"] not in alarms.alarms(call.state.settings.home):
        raise ApiError("ResourceNotFound", f"Alarm {params['AlarmName']} not found", 404)
    alarms.set_state(call.state.settings.home, params["AlarmName"], params["StateValue"], params["StateReason"])
    return {}


def delete_alarms(call: Call) -> dict[str, Any]:
    names = call.params["AlarmNames"]
    missing = sorted(set(names) - set(alarms.alarms(call.state.settings.home)))
    if missing:
        raise ApiError("ResourceNotFound", f"Alarm(s) {', '.join(missing)} not found", 404)
    alarms.delete_alarms(call.state.settings.home, names)
    return {}


OPERATIONS: dict[str, Handler] = {
    "PutMetricAlarm": put_metric_alarm,
    "DescribeAlarms": describe_alarms,
    "SetAlarmState": set_alarm_state,
    "DeleteAlarms": delete_alarms,
}
