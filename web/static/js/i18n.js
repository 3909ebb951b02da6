// Labels in Chinese (default) and English. Only keys and plain strings here: callers put the
// result into text nodes, never into markup.

const dict = {
  zh: {
    'lang.other': 'English', 'signin.lead': '请输入 API 令牌登录城管作业监管平台。令牌只保存在本浏览器会话中。',
    'signin.token': 'API 令牌', 'signin.submit': '登录', 'signin.bad': '令牌无效或已失效。', signout: '退出',
    'nav.board': '案件', 'nav.map': '地图', 'nav.rules': '规则', 'nav.mech': '机械化作业率', 'nav.assessment': '综合评价',
    'role.admin': '管理员', 'role.operator': '值班员', 'role.department': '处置部门', 'role.contractor': '作业单位', 'role.viewer': '只读',
    'na.title': '暂不可用', 'na.body': '服务器尚未提供此接口：', 'err.load': '加载失败：',
    'f.status': '状态', 'f.category': '类别', 'f.district': '镇街', 'f.source': '来源', 'f.overdue': '仅超期', 'f.all': '全部', 'f.clear': '清除筛选', 'f.more': '筛选',
    'board.total': '合计', 'board.overdue': '超期', 'board.empty': '没有符合条件的案件。', 'board.refreshed': '更新于',
    'board.more': '加载更多', 'board.more_hint': '还有更多案件（计数已含全部符合条件的案件）。',
    'f.q': '搜索', 'f.q.hint': '案件编号、车牌、地址、举报人电话', 'f.since': '上报自', 'f.until': '上报至', 'f.sort': '排序',
    'sort.urgent': '超期优先，时限最近', 'sort.deadline': '时限最近', 'sort.newest': '最新上报', 'sort.oldest': '最早上报', 'sort.updated': '最近更新',
    'export.csv': '导出 CSV', 'export.xlsx': '导出 Excel', 'export.done': '已导出',
    'viewer.title': '照片', 'viewer.open': '查看大图', 'viewer.prev': '上一张', 'viewer.next': '下一张',
    'board.pick': '选择左侧案件查看详情。',
    'col.id': '编号', 'col.title': '标题', 'col.status': '状态', 'col.category': '类别', 'col.district': '镇街', 'col.source': '来源', 'col.urgency': '紧急程度',
    'col.due': '时限', 'col.created': '上报时间', 'col.department': '处置部门',
    'due.left': '剩余', 'due.over': '超时', 'due.none': '—',
    'd.description': '描述', 'd.timeline': '处置过程', 'd.photos': '照片', 'd.before': '处置前', 'd.after': '处置后', 'd.evidence': '证据',
    'd.nophoto': '无照片', 'd.location': '位置', 'd.device': '设备', 'd.rule': '规则', 'd.occurrences': '发生次数', 'd.rating': '评价',
    'd.deadlines': '时限', 'd.dispatch_by': '派遣时限', 'd.sign_by': '签收时限', 'd.handle_by': '处置时限', 'd.actions': '操作', 'd.noactions': '当前角色在此状态下无可用操作。',
    'd.close': '关闭', 'd.duplicate': '重复于',
    'a.accept': '立案', 'a.reject': '不予立案', 'a.dispatch': '派遣', 'a.sign': '签收', 'a.start': '开始处置', 'a.resolve': '处置完成',
    'a.verify': '核查通过', 'a.rework': '返工', 'a.close': '结案', 'a.return': '回退', 'a.extend': '延期', 'a.rate': '评价', 'a.report': '上报', 'a.overdue': '超期', 'a.occurrence': '再次发生',
    'a.urge': '催办', 'a.reassign': '改派', 'a.defer': '缓办', 'a.resume': '恢复办理', 'a.choose': '请选择', 'a.proposed': '（建议）', 'col.contractor': '作业单位',
    'a.note': '备注', 'a.reason': '原因', 'a.department': '处置部门', 'a.photo': '处置后照片', 'a.submit': '提交', 'a.cancel': '取消',
    'a.score': '评分 (1–5)', 'a.comment': '评语', 'a.done': '操作成功', 'a.required': '请填写：',
    'st.reported': '已上报', 'st.registered': '已立案', 'st.rejected': '不予立案', 'st.dispatched': '已派遣', 'st.signed': '已签收',
    'st.in_progress': '处置中', 'st.resolved': '已处置', 'st.closed': '已结案',
    'src.rule': '规则', 'src.camera': '摄像头', 'src.plaque': '责任牌', 'src.citizen': '市民', 'src.inspection': '巡查', 'src.operator': '值班员',
    'urg.urgent': '特急', 'urg.high': '紧急', 'urg.normal': '一般', 'urg.low': '低',
    'map.coverage': '今日清扫覆盖率', 'map.coverage.day': '清扫覆盖率', 'map.cluster': '多件案件（点击放大）', 'map.vehicles': '作业车辆',
    'map.working': '作业中', 'map.idle': '未作业', 'map.track': '当日轨迹', 'map.district': '镇街边界', 'map.zoomin': '放大', 'map.zoomout': '缩小',
    'map.vehicle': '车辆', 'map.state': '状态', 'map.speed': '速度', 'map.last': '最后位置', 'map.points': '个点', 'map.pins': '案件', 'map.segment': '路段', 'map.class': '道路等级', 'map.ratio': '覆盖率',
    'map.nocov': '路网覆盖接口暂不可用，仅显示案件位置。', 'map.fit': '复位', 'map.date': '日期',
    'rc.main': '主干道', 'rc.secondary': '次干道', 'rc.branch': '支路', 'rc.alley': '街巷',
    'rules.loaded': '已加载规则', 'rules.reload': '重新加载', 'rules.reloaded': '规则已重新加载', 'rules.name': '规则', 'rules.group': '分组',
    'rules.on': '输入', 'rules.mode': '模式', 'rules.evals': '评估次数', 'rules.matches': '命中', 'rules.errors': '错误', 'rules.last_error': '最近错误',
    'rules.dryrun': '试运行', 'rules.dryrun.help': '粘贴一条输入（JSON），只评估不立案。', 'rules.run': '运行', 'rules.versions': '版本历史',
    'rules.diff': '差异', 'rules.noversions': '暂无版本记录。', 'rules.version': '版本', 'rules.at': '时间', 'rules.by': '操作人', 'rules.status': '状态',
    'mech.title': '机械化作业率（近 30 天）', 'mech.by_district': '按镇街', 'mech.by_class': '按道路等级', 'mech.day': '当日明细', 'mech.date': '日期',
    'mech.key': '分组', 'mech.rate': '作业率', 'mech.covered': '已作业', 'mech.total': '总量', 'mech.segments': '路段数', 'mech.target': '目标 80%',
    'mech.basis': '口径', 'mech.nodata': '暂无数据。',
    'as.title': '综合评价', 'as.month': '月份', 'as.district': '镇街', 'as.index': '综合指数', 'as.sign_on_time': '及时签收率', 'as.handle_on_time': '按期处置率',
    'as.handled': '处置率', 'as.close_on_time': '按期结案率', 'as.rework': '返工率', 'as.extension': '延期率', 'as.satisfaction': '满意率',
    'as.mean_score': '平均评分', 'as.mean_handle_hours': '平均处置时长(小时)', 'as.cases': '案件数', 'as.nodata': '无数据',
    'cat.01': '市容环境', 'cat.05': '街面秩序', 'cat.90': '环卫作业', 'cat.91': '门前三包',
    'nav.devices': '设备', 'nav.deadletters': '异常数据', 'nav.plaques': '责任牌', 'nav.shadow': '影子规则', 'nav.inspect': '督导检查', 'list.empty': '暂无记录。',
    'dev.pick': '选择设备查看状态与指令。', 'dev.id': '设备', 'dev.type': '类型', 'dev.online': '在线', 'dev.last_seen': '最后在线', 'dev.plate': '车牌',
    'dev.on': '在线', 'dev.off': '离线', 'dev.commands': '指令', 'dev.cmd': '指令名', 'dev.cmd_at': '时间', 'dev.cmd_id': '编号', 'dev.nocmds': '暂无指令。',
    'dev.send': '下发指令', 'dev.params': '参数 (JSON)', 'dev.ttl': '有效期', 'dev.badjson': '参数不是有效的 JSON。', 'dev.sent': '已下发',
    'dt.sweeper': '扫路车', 'dt.washer': '洗扫车', 'dt.sprinkler': '洒水车', 'dt.camera': '摄像头', 'dt.plaque': '责任牌',
    'cmd.queued': '排队中', 'cmd.sent': '已发送', 'cmd.acknowledged': '已确认', 'cmd.failed': '失败', 'cmd.expired': '已过期',
    'dl.help': '无法解码或超出范围的设备数据，保留最近的若干条。', 'dl.at': '时间', 'dl.topic': '主题', 'dl.kind': '类型', 'dl.reason': '原因', 'dl.error': '错误', 'dl.payload': '内容',
    'pl.id': '编号', 'pl.address': '地址', 'pl.party': '责任单位', 'pl.contact': '联系电话', 'pl.duties': '责任',
    'sh.help': '影子模式的规则只记录命中，不立案；用于上线前核对。', 'sh.empty': '暂无影子规则命中。',
    'dlr.bad_json': '不是有效 JSON', 'dlr.too_large': '过大', 'dlr.missing_field': '缺少字段', 'dlr.bad_type': '类型错误', 'dlr.out_of_range': '超出范围',
    'dlr.future_timestamp': '时间在未来', 'dlr.stale_timestamp': '时间过旧', 'dlr.unknown_type': '未知类型', 'dlr.bad_snapshot': '图片无效',
    'dlk.telemetry': '车辆数据', 'dlk.camera': '摄像头事件', 'dlk.plaque': '责任牌扫码', 'dlk.status': '设备状态',
    'basis.area': '按面积', 'basis.length': '按长度', 'mode.enforce': '生效', 'mode.shadow': '影子',
    'refresh': '刷新', 'loading': '加载中…', 'skip': '跳到主要内容', 'nav.label': '主导航', 'd.back': '← 返回列表',
    'alert.new': '新案件', 'alert.open': '查看', 'alert.dismiss': '知道了', 'alert.mute': '提示音', 'alert.muted': '已静音',
    'live.live': '实时', 'live.connecting': '连接中…', 'live.offline': '离线，30 秒刷新',
  },
  en: {
    'lang.other': '中文', 'signin.lead': 'Sign in to the urban-management console with an API token. It is kept only in this browser session.',
    'signin.token': 'API token', 'signin.submit': 'Sign in', 'signin.bad': 'The token is not valid.', signout: 'Sign out',
    'nav.board': 'Cases', 'nav.map': 'Map', 'nav.rules': 'Rules', 'nav.mech': 'Mechanization', 'nav.assessment': 'Assessment',
    'role.admin': 'admin', 'role.operator': 'operator', 'role.department': 'department', 'role.contractor': 'contractor', 'role.viewer': 'viewer',
    'na.title': 'Not available yet', 'na.body': 'The server does not offer this endpoint yet: ', 'err.load': 'Could not load: ',
    'f.status': 'Status', 'f.category': 'Category', 'f.district': 'District', 'f.source': 'Source', 'f.overdue': 'Overdue only', 'f.all': 'All', 'f.clear': 'Clear filters', 'f.more': 'Filters',
    'board.total': 'Total', 'board.overdue': 'Overdue', 'board.empty': 'No cases match.', 'board.refreshed': 'Updated',
    'board.more': 'Load more', 'board.more_hint': 'More cases match (the counts cover all of them).',
    'f.q': 'Search', 'f.q.hint': 'case id, plate, address, reporter phone', 'f.since': 'Reported from', 'f.until': 'Reported to', 'f.sort': 'Order',
    'sort.urgent': 'Overdue first, nearest deadline', 'sort.deadline': 'Nearest deadline', 'sort.newest': 'Newest', 'sort.oldest': 'Oldest', 'sort.updated': 'Recently updated',
    'export.csv': 'Export CSV', 'export.xlsx': 'Export Excel', 'export.done': 'Exported',
    'viewer.title': 'Photo', 'viewer.open': 'View large', 'viewer.prev': 'Previous', 'viewer.next': 'Next',
    'board.pick': 'Pick a case to see its details.',
    'col.id': 'ID', 'col.title': 'Title', 'col.status': 'Status', 'col.category': 'Category', 'col.district': 'District', 'col.source': 'Source', 'col.urgency': 'Urgency',
    'col.due': 'Deadline', 'col.created': 'Reported', 'col.department': 'Department',
    'due.left': 'left', 'due.over': 'over', 'due.none': '—',
    'd.description': 'Description', 'd.timeline': 'Timeline', 'd.photos': 'Photos', 'd.before': 'Before', 'd.after': 'After', 'd.evidence': 'Evidence',
    'd.nophoto': 'No photo', 'd.location': 'Location', 'd.device': 'Device', 'd.rule': 'Rule', 'd.occurrences': 'Occurrences', 'd.rating': 'Rating',
    'd.deadlines': 'Deadlines', 'd.dispatch_by': 'Dispatch by', 'd.sign_by': 'Sign by', 'd.handle_by': 'Handle by', 'd.actions': 'Actions', 'd.noactions': 'Your role has no action on a case in this state.',
    'd.close': 'Close', 'd.duplicate': 'Duplicate of',
    'a.accept': 'Accept', 'a.reject': 'Reject', 'a.dispatch': 'Dispatch', 'a.sign': 'Sign', 'a.start': 'Start', 'a.resolve': 'Resolve',
    'a.verify': 'Verify', 'a.rework': 'Rework', 'a.close': 'Close', 'a.return': 'Return', 'a.extend': 'Extend', 'a.rate': 'Rate', 'a.report': 'Reported', 'a.overdue': 'Overdue', 'a.occurrence': 'Occurred again',
    'a.urge': 'Urge', 'a.reassign': 'Reassign', 'a.defer': 'Defer', 'a.resume': 'Resume', 'a.choose': 'Choose…', 'a.proposed': '(proposed)', 'col.contractor': 'Contractor',
    'a.note': 'Note', 'a.reason': 'Reason', 'a.department': 'Department', 'a.photo': 'After photo', 'a.submit': 'Submit', 'a.cancel': 'Cancel',
    'a.score': 'Score (1–5)', 'a.comment': 'Comment', 'a.done': 'Done', 'a.required': 'Required: ',
    'st.reported': 'Reported', 'st.registered': 'Registered', 'st.rejected': 'Rejected', 'st.dispatched': 'Dispatched', 'st.signed': 'Signed',
    'st.in_progress': 'In progress', 'st.resolved': 'Resolved', 'st.closed': 'Closed',
    'src.rule': 'rule', 'src.camera': 'camera', 'src.plaque': 'plaque', 'src.citizen': 'citizen', 'src.inspection': 'inspection', 'src.operator': 'operator',
    'urg.urgent': 'urgent', 'urg.high': 'high', 'urg.normal': 'normal', 'urg.low': 'low',
    'map.coverage': "Today's coverage", 'map.coverage.day': 'coverage', 'map.cluster': 'several cases (click to zoom)', 'map.vehicles': 'Vehicles',
    'map.working': 'working', 'map.idle': 'not working', 'map.track': "Day's track", 'map.district': 'District border', 'map.zoomin': 'Zoom in', 'map.zoomout': 'Zoom out',
    'map.vehicle': 'Vehicle', 'map.state': 'State', 'map.speed': 'Speed', 'map.last': 'Last position', 'map.points': 'points', 'map.pins': 'Cases', 'map.segment': 'Segment', 'map.class': 'Road class', 'map.ratio': 'Coverage',
    'map.nocov': 'The coverage endpoint is not available yet; showing case locations only.', 'map.fit': 'Reset', 'map.date': 'Date',
    'rc.main': 'main', 'rc.secondary': 'secondary', 'rc.branch': 'branch', 'rc.alley': 'alley',
    'rules.loaded': 'Loaded rules', 'rules.reload': 'Reload', 'rules.reloaded': 'Rules reloaded', 'rules.name': 'Rule', 'rules.group': 'Group',
    'rules.on': 'Input', 'rules.mode': 'Mode', 'rules.evals': 'Evaluations', 'rules.matches': 'Matches', 'rules.errors': 'Errors', 'rules.last_error': 'Last error',
    'rules.dryrun': 'Dry run', 'rules.dryrun.help': 'Paste one input (JSON); it is evaluated, no case is opened.', 'rules.run': 'Run', 'rules.versions': 'Version history',
    'rules.diff': 'Diff', 'rules.noversions': 'No versions recorded yet.', 'rules.version': 'Version', 'rules.at': 'When', 'rules.by': 'By', 'rules.status': 'Status',
    'mech.title': 'Mechanization rate (last 30 days)', 'mech.by_district': 'By district', 'mech.by_class': 'By road class', 'mech.day': 'One day', 'mech.date': 'Date',
    'mech.key': 'Group', 'mech.rate': 'Rate', 'mech.covered': 'Covered', 'mech.total': 'Total', 'mech.segments': 'Segments', 'mech.target': 'target 80%',
    'mech.basis': 'Basis', 'mech.nodata': 'No data.',
    'as.title': 'Assessment', 'as.month': 'Month', 'as.district': 'District', 'as.index': 'Index', 'as.sign_on_time': 'Signed on time', 'as.handle_on_time': 'Handled on time',
    'as.handled': 'Handled', 'as.close_on_time': 'Closed on time', 'as.rework': 'Rework', 'as.extension': 'Extension', 'as.satisfaction': 'Satisfaction',
    'as.mean_score': 'Mean score', 'as.mean_handle_hours': 'Mean handling (h)', 'as.cases': 'Cases', 'as.nodata': 'no data',
    'cat.01': 'city appearance', 'cat.05': 'street order', 'cat.90': 'sanitation work', 'cat.91': 'front-of-door duty',
    'nav.devices': 'Devices', 'nav.deadletters': 'Dead letters', 'nav.plaques': 'Plaques', 'nav.shadow': 'Shadow rules', 'nav.inspect': 'Inspections', 'list.empty': 'Nothing yet.',
    'dev.pick': 'Pick a device to see its state and commands.', 'dev.id': 'Device', 'dev.type': 'Type', 'dev.online': 'Online', 'dev.last_seen': 'Last seen', 'dev.plate': 'Plate',
    'dev.on': 'online', 'dev.off': 'offline', 'dev.commands': 'Commands', 'dev.cmd': 'Command', 'dev.cmd_at': 'When', 'dev.cmd_id': 'ID', 'dev.nocmds': 'No commands yet.',
    'dev.send': 'Send a command', 'dev.params': 'Parameters (JSON)', 'dev.ttl': 'Valid for', 'dev.badjson': 'The parameters are not valid JSON.', 'dev.sent': 'Sent',
    'dt.sweeper': 'sweeper', 'dt.washer': 'washer', 'dt.sprinkler': 'sprinkler', 'dt.camera': 'camera', 'dt.plaque': 'plaque',
    'cmd.queued': 'queued', 'cmd.sent': 'sent', 'cmd.acknowledged': 'acknowledged', 'cmd.failed': 'failed', 'cmd.expired': 'expired',
    'dl.help': 'Device data that could not be decoded or was out of range; the most recent are kept.', 'dl.at': 'When', 'dl.topic': 'Topic', 'dl.kind': 'Kind', 'dl.reason': 'Reason', 'dl.error': 'Error', 'dl.payload': 'Payload',
    'pl.id': 'ID', 'pl.address': 'Address', 'pl.party': 'Responsible party', 'pl.contact': 'Phone', 'pl.duties': 'Duties',
    'sh.help': 'Rules in shadow mode record their matches and open no case; for checking before going live.', 'sh.empty': 'No shadow rule has matched yet.',
    'dlr.bad_json': 'not JSON', 'dlr.too_large': 'too large', 'dlr.missing_field': 'missing field', 'dlr.bad_type': 'wrong type', 'dlr.out_of_range': 'out of range',
    'dlr.future_timestamp': 'time in the future', 'dlr.stale_timestamp': 'time too old', 'dlr.unknown_type': 'unknown type', 'dlr.bad_snapshot': 'bad image',
    'dlk.telemetry': 'telemetry', 'dlk.camera': 'camera event', 'dlk.plaque': 'plaque scan', 'dlk.status': 'device status',
    'basis.area': 'by area', 'basis.length': 'by length', 'mode.enforce': 'enforce', 'mode.shadow': 'shadow',
    'refresh': 'Refresh', 'loading': 'Loading…', 'skip': 'Skip to content', 'nav.label': 'Main', 'd.back': '← Back to the list',
    'alert.new': 'New case', 'alert.open': 'Open', 'alert.dismiss': 'Dismiss', 'alert.mute': 'Sound', 'alert.muted': 'Muted',
    'live.live': 'Live', 'live.connecting': 'Connecting…', 'live.offline': 'Offline, refreshing every 30 s',
  },
};

// Category names of the default catalog (DOMAIN.md section 3).
const categories = {
  '0101': ['暴露垃圾', 'exposed garbage'], '0102': ['道路不洁', 'dirty road'], '0103': ['积存垃圾渣土', 'accumulated waste'],
  '0104': ['废弃车辆', 'abandoned vehicle'], '0501': ['无照经营游商', 'mobile vendor'], '0504': ['店外经营', 'street occupation'],
  '0505': ['机动车乱停放', 'illegal parking'], '0506': ['非机动车乱停放', 'bicycles parked badly'], '0507': ['乱堆物料堆', 'piled materials'],
  '0510': ['露天烧烤', 'open-air barbecue'], '9001': ['作业车辆未按规定作业', 'vehicle not working'], '9002': ['作业超速', 'working too fast'],
  '9003': ['路段漏扫', 'segment not cleaned'], '9004': ['作业车辆离线', 'vehicle offline'], '9005': ['水位/油量异常', 'water/fuel anomaly'],
  '9101': ['门前三包问题', 'front-of-door duty'],
};

export const STATUSES = ['reported', 'registered', 'dispatched', 'signed', 'in_progress', 'resolved', 'closed', 'rejected'];
export const SOURCES = ['rule', 'camera', 'plaque', 'citizen', 'inspection', 'operator'];
export const CATEGORY_CODES = Object.keys(categories);

const LANG_KEY = 'lanewatch.lang';

export function lang() {
  return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
}

export function toggleLang() {
  localStorage.setItem(LANG_KEY, lang() === 'en' ? 'zh' : 'en');
  applyStatic();
}

// t returns the label for key in the current language (the key itself when unknown).
export function t(key) {
  const l = lang();
  return dict[l][key] ?? dict.zh[key] ?? key;
}

// label returns the label of key, or the raw value when there is none (for values from the API).
export function label(prefix, value) {
  const k = prefix + '.' + value;
  return dict[lang()][k] ?? value ?? '';
}

export function categoryName(code) {
  const c = categories[code];
  if (!c) return code || '';
  return code + ' ' + (lang() === 'en' ? c[1] : c[0]);
}

// applyStatic fills every [data-i18n] element of the page with its label.
export function applyStatic() {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
}

// The city's time zone (the working calendar's, from GET /api/v1/lookups): times read the same
// on every reader's screen and in the notes and SMS lanewatch writes, whatever the browser's
// zone. Unset (or unknown to the browser): the browser's zone.
let cityZone;

export function setTimeZone(tz) {
  cityZone = undefined;
  if (!tz) return;
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); cityZone = tz; } catch { /* unknown zone: the browser's */ }
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: cityZone });
}

// fmtClock is the time of day of d (a Date, default now) as HH:MM:SS, 24-hour, in the UI's
// language (never the browser's "2:47:50 AM" in the Chinese interface) and the city's zone.
export function fmtClock(d = new Date()) {
  return d.toLocaleTimeString(lang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: cityZone });
}

export function fmtDuration(ms) {
  const m = Math.round(Math.abs(ms) / 60000);
  const d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
  const en = lang() === 'en';
  if (d > 0) return en ? `${d}d ${h}h` : `${d}天${h}小时`;
  if (h > 0) return en ? `${h}h ${mm}m` : `${h}小时${mm}分`;
  return en ? `${mm}m` : `${mm}分钟`;
}

export function pct(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '—';
  return (r * 100).toFixed(1) + '%';
}
